/**
 * The Vaultwarden store against a fake `bw` (fake-bw/bw.ts) that reproduces
 * the real CLI's arguments, JSON shapes, messages and exit codes; there is no
 * live Vaultwarden here. The fake logs each call's argv and environment
 * variable NAMES, so the tests check what `bw` was given: the session key
 * only ever in BW_SESSION, never in argv; a minimal environment; and every
 * refusal typed (locked, not logged in, wrong server, ambiguous, malformed,
 * missing bw, timeout), with no secret or session in any message.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVaultwardenSecretStore, SecretStoreError, type SecretStore, type VaultwardenSecretStoreOptions } from '../../../adapters/secrets/index.js';
import { runBw } from '../../../adapters/secrets/bw-cli.js';
import { refusesAsync } from '../../helpers/refuses.js';
import type { FakeVault } from './fake-bw/bw.js';

const FAKE_BW = resolve(dirname(fileURLToPath(import.meta.url)), 'fake-bw/bw.js');
chmodSync(FAKE_BW, 0o755); // tsc emits 0644; the fake is run as an executable, like the real bw
const SECRET = 'sk-or-v1-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const SERVER = 'https://vault.example.test';
const tmp = mkdtempSync(join(tmpdir(), 'holonet-bw-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
// A variable of ours that must not reach bw: the child's environment is built, not inherited.
process.env.HOLONET_TEST_CANARY = 'canary-value';
t.teardown(() => delete process.env.HOLONET_TEST_CANARY);

interface LogEntry {
  argv: string[];
  env: string[];
}

interface Fixture {
  session: string;
  sessionFile: string;
  appData: string;
  store: SecretStore;
  log: () => LogEntry[];
}

let n = 0;
function setup(vault: Partial<FakeVault>, options: Partial<VaultwardenSecretStoreOptions> = {}, sessionInFile?: string): Fixture {
  const dir = join(tmp, `case-${++n}`);
  const appData = join(dir, 'appdata');
  mkdirSync(appData, { recursive: true, mode: 0o700 });
  const session = randomBytes(64).toString('base64');
  const full: FakeVault = { serverUrl: SERVER, userEmail: 'ops@example.test', userId: randomUUID(), loggedIn: true, sessionKey: session, lastSync: '2026-05-01T10:00:00.000Z', folders: [], items: [], ...vault };
  writeFileSync(join(appData, 'fake-vault.json'), JSON.stringify(full), { mode: 0o600 });
  const sessionFile = join(dir, 'bw-session');
  writeFileSync(sessionFile, `${sessionInFile ?? session}\n`, { mode: 0o600 });
  const store = createVaultwardenSecretStore({ bwPath: FAKE_BW, sessionFile, appDataDir: appData, serverUrl: SERVER, ...options });
  const log = (): LogEntry[] => {
    const file = join(appData, 'fake-bw.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogEntry);
  };
  return { session, sessionFile, appData, store, log };
}

function item(name: string, fields: Array<{ name: string | null; value: string | null; type: number }>, extra: Record<string, unknown> = {}) {
  return { id: randomUUID(), name, type: 2, fields, ...extra };
}

async function refused(t: Test, f: Fixture, tenant: string, reason: string, message?: RegExp): Promise<SecretStoreError | undefined> {
  const e = await refusesAsync(t, () => f.store.resolve(tenant), SecretStoreError, `refused (${reason})`);
  if (!(e instanceof SecretStoreError)) return undefined;
  t.equal(e.code, 'HOLON_E_SECRETS');
  t.equal(e.store, 'vaultwarden');
  t.equal(e.reason, reason, `reason ${reason} (${e.message})`);
  if (message) t.match(e.message, message);
  const all = `${e.message} ${JSON.stringify(e.toJSON())}`;
  t.notOk(all.includes(SECRET), 'no secret value in the error');
  t.notOk(all.includes(f.session), 'no session key in the error');
  return e;
}

/**
 * Names that the test harness itself adds to every child of this process: tap's
 * @tapjs/processinfo wraps child_process.spawn to inject NODE_OPTIONS and
 * _TAPJS_PROCESSINFO_* (never present in production). Measured, not assumed:
 * the fake is run once with a two-variable environment and whatever else it
 * sees is the harness's.
 */
function harnessNames(appData: string): string[] {
  const given = ['BITWARDENCLI_APPDATA_DIR', 'PATH'];
  spawnSync(FAKE_BW, ['status'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BITWARDENCLI_APPDATA_DIR: appData } });
  const lines = readFileSync(join(appData, 'fake-bw.log'), 'utf8').trim().split('\n');
  const seen = (JSON.parse(lines[lines.length - 1] as string) as LogEntry).env;
  rmSync(join(appData, 'fake-bw.log'));
  return seen.filter((name) => !given.includes(name));
}

function checkCalls(t: Test, f: Fixture): void {
  const calls = f.log();
  t.ok(calls.length > 0, 'bw was called');
  const harness = harnessNames(f.appData);
  t.ok(harness.every((name) => name === 'NODE_OPTIONS' || name.startsWith('_TAPJS_')), `the harness adds only its own variables (${harness.join(' ') || 'none'})`);
  const allowed = ['BITWARDENCLI_APPDATA_DIR', 'BW_SESSION', 'HOME', 'PATH', ...harness];
  for (const c of calls) {
    t.notOk(c.argv.some((a) => a.includes(f.session)), `session not in argv: bw ${c.argv.join(' ')}`);
    t.notOk(c.argv.includes('--session'), 'no --session flag');
    t.ok(c.argv.includes('--nointeraction'), 'always --nointeraction');
    t.same(c.env.filter((name) => !allowed.includes(name)), [], `environment is minimal: ${c.env.join(' ')}`);
    t.ok(c.env.includes('BW_SESSION'), 'BW_SESSION given by environment');
  }
  t.notOk(JSON.stringify(calls).includes(f.session), 'session nowhere in what bw saw as argv');
  t.same(
    [...new Set(calls.flatMap((c) => c.env.filter((name) => !harness.includes(name))))].sort(),
    (process.env.HOME === undefined ? [] : ['HOME']).concat(['BITWARDENCLI_APPDATA_DIR', 'BW_SESSION', 'PATH']).sort(),
    'the adapter gives exactly PATH, HOME, BW_SESSION, BITWARDENCLI_APPDATA_DIR',
  );
}

void t.test('happy path: the item named after the tenant, its custom fields as variables', async (t) => {
  const acme = item('acme', [
    { name: 'OPENROUTER_API_KEY', value: SECRET, type: 1 },
    { name: 'REGION', value: 'eu-west', type: 0 },
    { name: 'DEBUG', value: 'false', type: 2 },
    { name: 'EMPTY', value: null, type: 0 },
    { name: 'PEM', value: 'line1\nline2', type: 1 },
  ]);
  const f = setup({
    items: [
      item('acme-staging', [{ name: 'OPENROUTER_API_KEY', value: 'staging', type: 1 }]),
      acme,
      item('acme', [{ name: 'OPENROUTER_API_KEY', value: 'old', type: 1 }], { deletedDate: '2026-04-01T00:00:00.000Z' }),
      item('Login for acme', [], { type: 1, login: { username: 'acme' } }),
    ],
  });
  t.equal(f.store.kind, 'vaultwarden');
  t.same(await f.store.resolve('acme'), {
    tenant: 'acme',
    vars: { OPENROUTER_API_KEY: SECRET, REGION: 'eu-west', DEBUG: 'false', EMPTY: '', PEM: 'line1\nline2' },
  });
  const calls = f.log().map((c) => c.argv.join(' '));
  t.same(calls, ['status --nointeraction', 'list items --search acme --nointeraction', `get item ${acme.id} --nointeraction`], 'the bw commands run');
  checkCalls(t, f);
  t.notOk(f.log().some((c) => c.env.includes('HOLONET_TEST_CANARY')), 'our own environment is not passed on');
});

void t.test('no item named exactly after the tenant → undefined', async (t) => {
  const f = setup({ items: [item('acme-ci', [{ name: 'A', value: '1', type: 0 }]), item('ACME', [])] });
  t.equal(await f.store.resolve('acme'), undefined, 'substring and case-insensitive matches do not count');
  t.same(f.log().map((c) => c.argv[0]), ['status', 'list'], 'no get after an empty match');
});

void t.test('locked vault → typed error, from bw status and from a command', async (t) => {
  const f = setup({ items: [item('acme', [{ name: 'A', value: SECRET, type: 1 }])] }, {}, randomBytes(64).toString('base64'));
  await refused(t, f, 'acme', 'locked', /vault is locked for this session/);
  t.same(f.log().map((c) => c.argv[0]), ['status'], 'nothing listed after status said locked');
  // bw's own message on a command, mapped by the runner: "Vault is locked." exit 1.
  const runner = { bwPath: FAKE_BW, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BITWARDENCLI_APPDATA_DIR: f.appData }, timeoutMs: 10_000, maxOutputBytes: 1 << 20 };
  await refusesAsync(t, () => runBw(runner, ['list', 'items', '--search', 'acme', '--nointeraction'], 'stale-session-key', 'acme'), {
    reason: 'locked',
    exitCode: 1,
    message: /bw list items --search acme exited 1: Vault is locked\./,
  });
});

void t.test('not logged in → typed error, from bw status and from a command', async (t) => {
  const f = setup({ loggedIn: false });
  await refused(t, f, 'acme', 'unauthenticated', /not logged in .*run `bw login`/);
  const runner = { bwPath: FAKE_BW, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BITWARDENCLI_APPDATA_DIR: f.appData }, timeoutMs: 10_000, maxOutputBytes: 1 << 20 };
  await refusesAsync(t, () => runBw(runner, ['get', 'item', randomUUID(), '--nointeraction'], f.session, 'acme'), {
    reason: 'unauthenticated',
    message: /You are not logged in\./,
  });
});

void t.test('session file: wider than 0600, a symlink, not a session key, missing → refused before bw runs', async (t) => {
  const f = setup({ items: [item('acme', [{ name: 'A', value: SECRET, type: 1 }])] });
  chmodSync(f.sessionFile, 0o644);
  await refused(t, f, 'acme', 'permissions', /has mode 0644; it must be 0600 or 0400 \(chmod 600/);
  chmodSync(f.sessionFile, 0o640);
  await refused(t, f, 'acme', 'permissions', /mode 0640/);
  t.same(f.log(), [], 'bw was never run');
  chmodSync(f.sessionFile, 0o400);
  t.ok(await f.store.resolve('acme'), '0400 is accepted');

  const g = setup({});
  const real = `${g.sessionFile}.real`;
  writeFileSync(real, `${g.session}\n`, { mode: 0o600 });
  rmSync(g.sessionFile);
  symlinkSync(real, g.sessionFile);
  await refused(t, g, 'acme', 'symlink', /is a symlink/);
  writeFileSync(real, 'not a session key!\n', { mode: 0o600 });
  await refused(t, setup({}, { sessionFile: real }), 'acme', 'session', /does not hold a BW_SESSION key/);
  await refused(t, setup({}, { sessionFile: join(tmp, 'no-such-session') }), 'acme', 'session', /cannot be opened \(ENOENT\)/);
  t.same(g.log(), [], 'bw was never run');
});

void t.test('two items with the tenant name → refused as ambiguous', async (t) => {
  const a = item('acme', [{ name: 'A', value: SECRET, type: 1 }]);
  const b = item('acme', [{ name: 'A', value: 'other', type: 1 }]);
  const f = setup({ items: [a, b] });
  const e = await refused(t, f, 'acme', 'ambiguous', /2 vault items are named "acme"/);
  t.match(e?.message, a.id);
  t.match(e?.message, b.id);
  t.notOk(f.log().some((c) => c.argv[0] === 'get'), 'neither item was read');
});

void t.test('server URL must match bw status; trailing slashes do not matter', async (t) => {
  const f = setup({ serverUrl: 'https://other.example.test' });
  await refused(t, f, 'acme', 'server-mismatch', /configured for https:\/\/other\.example\.test, not https:\/\/vault\.example\.test/);
  const g = setup({ serverUrl: null });
  await refused(t, g, 'acme', 'server-mismatch', /the default server/);
  const h = setup({ serverUrl: `${SERVER}/`, items: [item('acme', [{ name: 'A', value: '1', type: 0 }])] }, { serverUrl: `${SERVER}//` });
  t.same(await h.store.resolve('acme'), { tenant: 'acme', vars: { A: '1' } });
});

void t.test('folder: only the item in the named folder counts; a missing folder fails closed', async (t) => {
  const tenants = randomUUID();
  const personal = randomUUID();
  const inFolder = item('acme', [{ name: 'A', value: 'tenant', type: 1 }], { folderId: tenants });
  const f = setup(
    { folders: [{ id: tenants, name: 'tenants' }, { id: personal, name: 'tenants-old' }], items: [item('acme', [{ name: 'A', value: 'personal', type: 1 }], { folderId: personal }), inFolder, item('acme', [{ name: 'A', value: 'none', type: 1 }])] },
    { folder: 'tenants' },
  );
  t.same(await f.store.resolve('acme'), { tenant: 'acme', vars: { A: 'tenant' } });
  t.same(f.log()[1]?.argv, ['list', 'folders', '--search', 'tenants', '--nointeraction']);
  t.equal(await f.store.resolve('other'), undefined);
  const g = setup({ folders: [{ id: personal, name: 'tenants-old' }], items: [inFolder] }, { folder: 'tenants' });
  await refused(t, g, 'acme', 'config', /folder "tenants" does not exist/);
});

void t.test('item fields outside the rules are refused, naming the field but not its value', async (t) => {
  const cases: Array<[Array<{ name: string | null; value: string | null; type: number }>, RegExp]> = [
    [[{ name: 'A', value: null, type: 3 }], /field A is a linked field/],
    [[{ name: 'api key', value: SECRET, type: 1 }], /name "api key" is not a variable name/],
    [[{ name: null, value: SECRET, type: 1 }], /name null is not a variable name/],
    [[{ name: 'A', value: SECRET, type: 1 }, { name: 'A', value: 'x', type: 0 }], /field A appears twice/],
    [[{ name: 'A', value: `${SECRET}\0`, type: 1 }], /field A value contains a NUL byte/],
    [[{ name: 'A', value: SECRET, type: 9 }], /unknown type 9/],
  ];
  for (const [fields, message] of cases) {
    await refused(t, setup({ items: [item('acme', fields)] }), 'acme', 'malformed', message);
  }
  t.same(await setup({ items: [item('acme', [])] }).store.resolve('acme'), { tenant: 'acme', vars: {} }, 'an item without fields is an empty bucket');
});

void t.test('bw failures: missing binary, timeout, non-JSON output, item gone between list and get', async (t) => {
  await refused(t, setup({}, { bwPath: join(tmp, 'no-such-bw') }), 'acme', 'bw-missing', /cannot be run \(ENOENT\)/);
  const slow = setup({ sleepMs: 5000 }, { timeoutMs: 300 });
  const started = Date.now();
  await refused(t, slow, 'acme', 'timeout', /did not finish within 300 ms and was killed/);
  t.ok(Date.now() - started < 3000, 'killed at the timeout, not after bw finished');
  await refused(t, setup({ garbleStdout: true }), 'acme', 'malformed', /bw status did not print JSON/);
  const gone = item('acme', [{ name: 'A', value: SECRET, type: 1 }]);
  await refused(t, setup({ items: [gone], hideOnGet: [gone.id] }), 'acme', 'not-found', new RegExp(`bw get item ${gone.id} exited 1: Not found\\.`));
});

void t.test('tenant ids are checked before bw runs; options are checked at creation', async (t) => {
  const f = setup({});
  for (const bad of ['../x', '/abs', 'a/b', 'ACME', '--session', '']) await refused(t, f, bad, 'invalid-tenant');
  t.same(f.log(), [], 'bw was never run');
  const base = { sessionFile: '/run/holonet/bw-session' };
  t.throws(() => createVaultwardenSecretStore({ sessionFile: 'relative' }), { reason: 'config', message: /sessionFile: expected an absolute path/ });
  t.throws(() => createVaultwardenSecretStore({ ...base, serverUrl: 'vault.example' }), { reason: 'config', message: /serverUrl/ });
  t.throws(() => createVaultwardenSecretStore({ ...base, folder: '--session' }), { reason: 'config', message: /folder/ });
  t.throws(() => createVaultwardenSecretStore({ ...base, bwPath: '--x' }), { reason: 'config', message: /bwPath/ });
  t.throws(() => createVaultwardenSecretStore({ ...base, timeoutMs: 5 }), { reason: 'config', message: /timeoutMs/ });
});

void t.test('the fake bw itself: refuses --session, answers like bw on the command line', async (t) => {
  const f = setup({ items: [item('acme', [{ name: 'A', value: 'v', type: 0 }]), item('acme', [])] });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', BITWARDENCLI_APPDATA_DIR: f.appData };
  const run = (args: string[], extra: Record<string, string> = {}) => spawnSync(FAKE_BW, args, { env: { ...env, ...extra }, encoding: 'utf8' });
  const withFlag = run(['list', 'items', '--session', f.session]);
  t.equal(withFlag.status, 1, '--session refused, exit 1');
  t.match(withFlag.stderr, /--session is refused/);
  const status = JSON.parse(run(['status'], { BW_SESSION: f.session }).stdout);
  t.same(Object.keys(status), ['serverUrl', 'lastSync', 'userEmail', 'userId', 'status']);
  t.equal(status.status, 'unlocked');
  t.equal(JSON.parse(run(['status']).stdout).status, 'locked', 'no BW_SESSION: locked');
  const byName = run(['get', 'item', 'acm', '--nointeraction'], { BW_SESSION: f.session });
  t.equal(byName.status, 1);
  t.match(byName.stderr, /^More than one result was found\./);
  const list = JSON.parse(run(['list', 'items', '--search', 'acme', '--nointeraction'], { BW_SESSION: f.session }).stdout);
  t.equal(list.length, 2);
  t.match(list[0], { object: 'item', type: 2, name: 'acme', secureNote: { type: 0 }, fields: [{ name: 'A', value: 'v', type: 0, linkedId: null }] });
});

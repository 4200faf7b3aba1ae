/**
 * The directory store on a real filesystem: `<root>/<tenant>/.env`. Happy
 * path, no bucket → undefined, and every refusal fails closed with a typed
 * SecretStoreError that names the tenant and never a secret value: path-like
 * and non-canonical tenant ids, a bucket symlinked out of (or inside) the
 * root, a symlinked `.env`, a FIFO, a hard link, group/world-writable
 * buckets and roots, a readable-by-others `.env`, oversize, malformed lines,
 * invalid UTF-8, a bucket without `.env`, a missing root, bad options.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDirectorySecretStore, renderDotEnv, SecretStoreError, type SecretStore } from '../../../adapters/secrets/index.js';
import { refusesAsync } from '../../helpers/refuses.js';

const SECRET = 'sk-live-0123456789abcdef';
const tmp = mkdtempSync(join(tmpdir(), 'holonet-dirstore-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A fresh root (0700) with optional buckets: tenant → .env text (written 0600) or a setup function. */
function makeRoot(buckets: Record<string, string> = {}): { root: string; store: SecretStore } {
  const root = join(tmp, `root-${++n}`);
  mkdirSync(root, { mode: 0o700 });
  for (const [tenant, text] of Object.entries(buckets)) {
    mkdirSync(join(root, tenant), { mode: 0o700 });
    writeFileSync(join(root, tenant, '.env'), text, { mode: 0o600 });
  }
  return { root, store: createDirectorySecretStore({ root }) };
}

/** Expect a SecretStoreError with this reason, naming the tenant, without the secret. */
async function refused(t: Test, store: SecretStore, tenant: string, reason: string, message?: RegExp): Promise<SecretStoreError | undefined> {
  const e = await refusesAsync(t, () => store.resolve(tenant), SecretStoreError, `${JSON.stringify(tenant)}: refused (${reason})`);
  if (!(e instanceof SecretStoreError)) return undefined;
  t.equal(e.code, 'HOLON_E_SECRETS');
  t.equal(e.store, 'directory');
  t.equal(e.reason, reason, `reason ${reason} (${e.message})`);
  if (message) t.match(e.message, message);
  t.notMatch(JSON.stringify(e.toJSON()), SECRET, 'no secret value in the error');
  return e;
}

void t.test('happy path: the bucket .env becomes the tenant variables', async (t) => {
  const vars = { API_KEY: SECRET, MULTI: 'line1\nline2', QUOTE: `it's "x" $y \\z` };
  const { store } = makeRoot({ acme: renderDotEnv({ tenant: 'acme', vars }), 'other-tenant': "API_KEY='other'\n" });
  t.equal(store.kind, 'directory');
  t.same(await store.resolve('acme'), { tenant: 'acme', vars });
  t.same(await store.resolve('other-tenant'), { tenant: 'other-tenant', vars: { API_KEY: 'other' } }, 'buckets are separate');
  const { store: empty } = makeRoot({ quiet: '# nothing yet\n' });
  t.same(await empty.resolve('quiet'), { tenant: 'quiet', vars: {} }, 'an empty .env is an empty bucket');
});

void t.test('no bucket directory → undefined (a no-op for the caller)', async (t) => {
  const { store } = makeRoot({ acme: 'A=1\n' });
  t.equal(await store.resolve('nobody'), undefined);
});

void t.test('tenant ids that are not DNS labels are refused before any path is built', async (t) => {
  const { store, root } = makeRoot({ acme: `A='${SECRET}'\n` });
  mkdirSync(join(root, 'a'), { mode: 0o700 });
  const cases: Array<[string, RegExp]> = [
    ['../x', /'\.\.'/],
    ['..', /'\.\.'/],
    ['/abs', /absolute path/],
    [root, /absolute path/],
    ['a/b', /path separator/],
    ['acme/', /path separator/],
    ['ACME', /lowercase/],
    ['Acme', /lowercase/],
    ['', /empty/],
    ['a\0b', /NUL/],
    ['-acme', /DNS label/],
    ['acme-', /DNS label/],
    ['ac me', /DNS label/],
    ['a'.repeat(64), /64 characters/],
    ['.env', /DNS label/],
  ];
  for (const [tenant, message] of cases) await refused(t, store, tenant, 'invalid-tenant', message);
  await refusesAsync(t, () => store.resolve(42 as unknown as string), { reason: 'invalid-tenant', message: /must be a string/ });
});

void t.test('a bucket that is a symlink is refused: pointing out of root (escape) or inside it', async (t) => {
  const outside = join(tmp, `outside-${++n}`);
  mkdirSync(outside, { mode: 0o700 });
  writeFileSync(join(outside, '.env'), `API_KEY='${SECRET}'\n`, { mode: 0o600 });
  const { root, store } = makeRoot({ real: 'A=1\n' });
  symlinkSync(outside, join(root, 'evil'));
  await refused(t, store, 'evil', 'escape', /symlink pointing outside the root/);
  symlinkSync(join(root, 'real'), join(root, 'alias'));
  await refused(t, store, 'alias', 'symlink', /must be a real directory/);
  symlinkSync(join(tmp, 'does-not-exist'), join(root, 'dangling'));
  await refused(t, store, 'dangling', 'escape');
});

void t.test('a root reached through a symlink is fine; its buckets are checked against the real root', async (t) => {
  const { root } = makeRoot({ acme: 'A=1\n' });
  const link = join(tmp, `root-link-${++n}`);
  symlinkSync(root, link);
  t.same(await createDirectorySecretStore({ root: link }).resolve('acme'), { tenant: 'acme', vars: { A: '1' } });
});

void t.test('a .env that is a symlink, a FIFO, a directory or a hard link is refused', async (t) => {
  const outside = join(tmp, `outside-${++n}.env`);
  writeFileSync(outside, `API_KEY='${SECRET}'\n`, { mode: 0o600 });
  const { root, store } = makeRoot();
  const bucket = (name: string): string => {
    mkdirSync(join(root, name), { mode: 0o700 });
    return join(root, name, '.env');
  };
  symlinkSync(outside, bucket('linked'));
  await refused(t, store, 'linked', 'symlink', /\.env is a symlink/);
  const fifo = bucket('fifo');
  const mk = spawnSync('mkfifo', ['-m', '600', fifo]);
  t.equal(mk.status, 0, 'mkfifo');
  const started = Date.now();
  await refused(t, store, 'fifo', 'file-type', /not a regular file/);
  t.ok(Date.now() - started < 2000, 'a FIFO does not block the store');
  mkdirSync(bucket('dir'), { mode: 0o700 });
  await refused(t, store, 'dir', 'file-type');
  linkSync(outside, bucket('hardlink'));
  await refused(t, store, 'hardlink', 'file-type', /2 hard links/);
});

void t.test('permissions: group/world-writable bucket or root, a .env readable by others', async (t) => {
  const { root, store } = makeRoot({ ww: 'A=1\n', gw: 'A=1\n', open: `A='${SECRET}'\n`, fine: 'A=1\n' });
  chmodSync(join(root, 'ww'), 0o777);
  await refused(t, store, 'ww', 'permissions', /mode 0777: group\/world-writable buckets are refused/);
  chmodSync(join(root, 'gw'), 0o770);
  await refused(t, store, 'gw', 'permissions', /mode 0770/);
  chmodSync(join(root, 'open', '.env'), 0o644);
  await refused(t, store, 'open', 'permissions', /mode 0644: a secret file must be 0600 or 0400/);
  chmodSync(join(root, 'fine', '.env'), 0o400);
  t.same(await store.resolve('fine'), { tenant: 'fine', vars: { A: '1' } }, '0400 is fine');
  chmodSync(root, 0o777);
  await refused(t, store, 'fine', 'permissions', /root .* group\/world-writable roots are refused/);
});

void t.test('oversize .env is refused before it is parsed', async (t) => {
  const { root } = makeRoot({ big: `A='${'x'.repeat(70_000)}'\n`, small: `A='${'x'.repeat(90)}'\n` });
  const store = createDirectorySecretStore({ root });
  await refused(t, store, 'big', 'oversize', /the limit is 65536/);
  const tiny = createDirectorySecretStore({ root, maxBytes: 64 });
  await refused(t, tiny, 'small', 'oversize', /the limit is 64/);
});

void t.test('malformed contents: bad lines (with the line number), invalid UTF-8, no .env at all', async (t) => {
  const { root, store } = makeRoot({
    badline: `OK=1\nAPI_KEY=${SECRET} trailing\n`,
    noeq: `OK=1\n\n${SECRET}\n`,
    crlf: `API_KEY='${SECRET}'\r\n`,
    dup: `A='${SECRET}'\nA=2\n`,
  });
  await refused(t, store, 'badline', 'malformed', /\.env: line 2: unquoted value contains characters that must be quoted/);
  await refused(t, store, 'noeq', 'malformed', /line 3: expected NAME=VALUE/);
  await refused(t, store, 'crlf', 'malformed', /line 1: carriage return/);
  await refused(t, store, 'dup', 'malformed', /line 2: duplicate variable A/);
  mkdirSync(join(root, 'latin1'), { mode: 0o700 });
  writeFileSync(join(root, 'latin1', '.env'), Buffer.from([0x41, 0x3d, 0x27, 0xe9, 0x27, 0x0a]), { mode: 0o600 });
  await refused(t, store, 'latin1', 'malformed', /not valid UTF-8/);
  mkdirSync(join(root, 'empty'), { mode: 0o700 });
  await refused(t, store, 'empty', 'malformed', /exists but has no \.env/);
  writeFileSync(join(root, 'notadir'), 'A=1\n', { mode: 0o600 });
  await refused(t, store, 'notadir', 'file-type', /is not a directory/);
});

void t.test('store configuration: a missing root fails closed; bad options are refused at creation', async (t) => {
  const missing = createDirectorySecretStore({ root: join(tmp, 'no-such-root') });
  await refused(t, missing, 'acme', 'config', /cannot be resolved \(ENOENT\)/);
  const file = join(tmp, `file-root-${++n}`);
  writeFileSync(file, '', { mode: 0o600 });
  await refused(t, createDirectorySecretStore({ root: file }), 'acme', 'config', /is not a directory/);
  t.throws(() => createDirectorySecretStore({ root: 'relative/dir' }), { code: 'HOLON_E_SECRETS', reason: 'config', message: /not an absolute path/ });
  t.throws(() => createDirectorySecretStore({ root: '' }), { reason: 'config', message: /option root/ });
  t.throws(() => createDirectorySecretStore({ root: '/x', maxBytes: 0 }), { reason: 'config', message: /maxBytes/ });
  t.throws(() => createDirectorySecretStore(null as unknown as { root: string }), { reason: 'config', message: /options must be an object/ });
});

/**
 * The pure and local parts of holon-agent: config validation with exact
 * messages naming the option, key files (0600 in a 0700 dir, a 0644 key
 * refused, never replaced), and the bootstrap state machine's transitions.
 */
import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advance, encodeAgentState, initialState, parseAgentState } from '../../agent/agent-state.js';
import { parseAgentConfig } from '../../agent/config.js';
import { FsKeyStore } from '../../agent/fs-key-store.js';
import { loadOrCreateMachineKey, loadOrCreateNatsKey } from '../../agent/machine-key.js';
import { refuses, refusesAsync } from '../helpers/refuses.js';
import { keyOf, makeAuthority, newSigner } from '../bootstrap/fixtures.js';
import { nkeys } from './agent-fixture.js';

const HKEY = keyOf(newSigner());
const tmp = mkdtempSync(join(tmpdir(), 'holonet-agent-unit-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** The installer's default agent.json (docs/deploy.md), with the principal pinned. */
const DEFAULT = { data_dir: '/var/lib/holonet/agent', nats: { servers: ['nats://127.0.0.1:4222'] }, log_level: 'info', isolation: 'linux', principal_root: HKEY };
const parse = (v: unknown): ReturnType<typeof parseAgentConfig> => parseAgentConfig(JSON.stringify(v), '/etc/holonet/agent.json');

void t.test('config: the documented default is accepted, with every default filled in', async (t) => {
  const c = parse(DEFAULT);
  t.same(c.principalRoots, [HKEY]);
  t.match(c, { dataDir: '/var/lib/holonet/agent', logLevel: 'info', isolation: 'linux', tpm: { mode: 'auto' }, heartbeatIntervalMs: 10_000, admissionDifficulty: 16 });
  t.same(c.nats, { servers: ['nats://127.0.0.1:4222'], bootstrapCreds: undefined, name: undefined });
  t.same(parse({ ...DEFAULT, principal_root: [HKEY, HKEY] }).principalRoots, [HKEY], 'a list of roots, de-duplicated');
  t.same(parse({ ...DEFAULT, labels: { zone: 'fsn1', 'holonet.io/disk': 'nvme' } }).labels, { zone: 'fsn1', 'holonet.io/disk': 'nvme' });
});

void t.test('config: each refusal names the file, the JSON path and what was expected', async (t) => {
  const cases: [unknown, string, string | RegExp][] = [
    [{ ...DEFAULT, principal_root: '' }, '$.principal_root', /^not set: pin the principal's root key id/],
    [{ ...DEFAULT, principal_root: [] }, '$.principal_root', /^not set/],
    [{ ...DEFAULT, principal_root: 'hkey1nope' }, '$.principal_root', /./],
    [{ ...DEFAULT, data_dir: 'var/lib' }, '$.data_dir', 'expected an absolute path (the agent data directory), got "var/lib"'],
    [{ ...DEFAULT, nats: { servers: [] } }, '$.nats.servers', 'array shorter than 1'],
    [{ ...DEFAULT, nats: { servers: ['nats://u:p@host:4222'] } }, '$.nats.servers[0]', 'expected a URL like nats://host:4222 (no credentials in it)'],
    [{ ...DEFAULT, tpm: { mode: 'sometimes' } }, '$.tpm.mode', 'expected one of auto, required, off'],
    [{ ...DEFAULT, tpm: { mode: 'auto', tcti: 'has space' } }, '$.tpm.tcti', 'expected a TCTI like device:/dev/tpmrm0'],
    [{ ...DEFAULT, heartbeat_interval_ms: 5 }, '$.heartbeat_interval_ms', 'integer below minimum 100'],
    [{ ...DEFAULT, log_level: 'loud' }, '$.log_level', /^expected one of fatal, error/],
    [{ ...DEFAULT, labels: { Zone: 'x' } }, '$.labels.Zone', /^label key must be/],
    [{ ...DEFAULT, colour: 'blue' }, '$.colour', 'unknown field'],
    [{ ...DEFAULT, bootstrap: { poll_initial_ms: 5000, poll_max_ms: 1000 } }, '$.bootstrap.poll_max_ms', 'must be at least poll_initial_ms (5000)'],
    [(({ nats: _n, ...rest }) => rest)(DEFAULT), '$.nats', 'required field missing'],
  ];
  for (const [input, path, reason] of cases) {
    refuses(t, () => parse(input), { code: 'HOLON_E_AGENT_CONFIG', path, reason }, path);
  }
  refuses(t, () => parseAgentConfig('{ "data_dir": ', '/x.json'), { code: 'HOLON_E_AGENT_CONFIG', path: '$', message: /^agent config \/x\.json: \$: invalid JSON/ });
  const err = (() => {
    try {
      parse({ ...DEFAULT, tpm: { mode: 'sometimes' } });
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  t.equal(err?.message, 'agent config /etc/holonet/agent.json: $.tpm.mode: expected one of auto, required, off', 'the exact message');
});

void t.test('config: metrics and log_format (docs/metrics.md)', async (t) => {
  const c = parse(DEFAULT);
  t.same(c.metrics, { listen: { host: '127.0.0.1', port: 9465 }, maxUnits: 1000 }, "the agent's loopback default");
  t.equal(c.logFormat, 'json');
  t.same(parse({ ...DEFAULT, metrics: { listen: 'off' } }).metrics.listen, null, '"off"');
  t.same(parse({ ...DEFAULT, metrics: { listen: null, max_units: 5 } }).metrics, { listen: null, maxUnits: 5 }, 'null');
  t.same(parse({ ...DEFAULT, metrics: { listen: '[::1]:0' } }).metrics.listen, { host: '::1', port: 0 }, 'IPv6, any free port');
  t.same(parse({ ...DEFAULT, metrics: { listen: '0.0.0.0:9100' } }).metrics.listen, { host: '0.0.0.0', port: 9100 });
  t.same(parse({ ...DEFAULT, metrics: { listen: 'localhost:9465' } }).metrics.listen, { host: 'localhost', port: 9465 });
  for (const f of ['json', 'pretty', 'journal'] as const) t.equal(parse({ ...DEFAULT, log_format: f }).logFormat, f);
  const cases: [unknown, string, string | RegExp][] = [
    [{ ...DEFAULT, metrics: { listen: '9465' } }, '$.metrics.listen', 'expected host:port like 127.0.0.1:9464 ([::1]:9464 for IPv6, port 0 for any free port), "off" or null, got "9465"'],
    [{ ...DEFAULT, metrics: { listen: '127.0.0.1:65536' } }, '$.metrics.listen', /^expected host:port/],
    [{ ...DEFAULT, metrics: { listen: 'a b:1' } }, '$.metrics.listen', /^expected host:port/],
    [{ ...DEFAULT, metrics: { listen: '300.0.0.1:1' } }, '$.metrics.listen', '300.0.0.1 is not an IPv4 address'],
    [{ ...DEFAULT, metrics: { listen: 9465 } }, '$.metrics.listen', 'expected string, got number'],
    [{ ...DEFAULT, metrics: { max_units: 0 } }, '$.metrics.max_units', 'integer below minimum 1'],
    [{ ...DEFAULT, metrics: { port: 1 } }, '$.metrics.port', 'unknown field'],
    [{ ...DEFAULT, log_format: 'xml' }, '$.log_format', 'expected one of json, pretty, journal'],
  ];
  for (const [input, path, reason] of cases) refuses(t, () => parse(input), { code: 'HOLON_E_AGENT_CONFIG', path, reason }, `${path}: ${JSON.stringify(input).slice(-60)}`);
});

void t.test('keys: generated 0600 in a 0700 dir, stable across starts, a 0644 key refused', async (t) => {
  const dir = join(tmp, 'keys');
  const store = new FsKeyStore(dir);
  t.equal(await store.prepare(), false, 'a fresh dir needs no narrowing');
  t.equal(statSync(dir).mode & 0o777, 0o700);
  const a = await loadOrCreateMachineKey(store);
  t.ok(a.created, 'created at first start');
  t.match(a.machineId, /^hkey1/);
  t.equal(statSync(join(dir, 'machine.key')).mode & 0o777, 0o600, 'machine.key 0600');
  const b = await loadOrCreateMachineKey(store);
  t.equal(b.machineId, a.machineId, 'the same key at the next start');
  t.notOk(b.created);
  const n1 = await loadOrCreateNatsKey(store, nkeys);
  t.match(n1.key.publicKey, /^U[A-Z2-7]{55}$/);
  t.equal(statSync(join(dir, 'nats-user.nk')).mode & 0o777, 0o600, 'nats-user.nk 0600');
  t.equal((await loadOrCreateNatsKey(store, nkeys)).key.publicKey, n1.key.publicKey);
  t.notMatch(JSON.stringify(n1.key), n1.key.seed(), 'the nkey seed is redacted in JSON');

  chmodSync(join(dir, 'machine.key'), 0o644);
  const before = readFileSync(join(dir, 'machine.key'), 'utf8');
  await refusesAsync(t, () => loadOrCreateMachineKey(store), {
    code: 'HOLON_E_AGENT_KEY_FILE',
    message: /machine\.key: mode 0644 lets group or others read it; the key may have leaked\. Refusing to start/,
  });
  t.equal(readFileSync(join(dir, 'machine.key'), 'utf8'), before, 'the refused key is neither replaced nor changed');
  t.equal(statSync(join(dir, 'machine.key')).mode & 0o777, 0o644, 'nor silently chmod-ed');
  chmodSync(join(dir, 'nats-user.nk'), 0o640);
  await refusesAsync(t, () => loadOrCreateNatsKey(store, nkeys), { code: 'HOLON_E_AGENT_KEY_FILE', message: /nats-user\.nk: mode 0640/ });

  chmodSync(dir, 0o755);
  t.equal(await store.prepare(), true, 'a wide data dir is narrowed');
  t.equal(statSync(dir).mode & 0o777, 0o700);

  const other = new FsKeyStore(join(tmp, 'bad'));
  await other.prepare();
  writeFileSync(join(tmp, 'bad', 'machine.key'), '{"type":"holonet.ed25519-seed","key_id":"x","seed":"AAAA"}', { mode: 0o600 });
  await refusesAsync(t, () => loadOrCreateMachineKey(other), { code: 'HOLON_E_AGENT_KEY_FILE', message: /not a 32-byte Ed25519 seed/ });
});

void t.test('state machine: legal paths, illegal events refused, state.json round trip', async (t) => {
  const now = 1_700_000_000_000;
  const cert = makeAuthority(now).certificate;
  let s = initialState(HKEY, now);
  s = advance(s, { kind: 'hello_sent' }, now + 1);
  t.equal(s.state, 'HELLO_SENT');
  t.equal(s.hellos, 1);
  refuses(t, () => advance(s, { kind: 'attested' }, now), { code: 'HOLON_E_AGENT_STATE', message: 'agent state: event attested cannot happen in state HELLO_SENT' });
  const refused = advance(s, { kind: 'refused', by: 'agent', code: 'HOLON_E_BOOT_UNTRUSTED_CELL', reason: 'not pinned' }, now + 2);
  t.match(refused, { state: 'REFUSED', refusal: { by: 'agent', code: 'HOLON_E_BOOT_UNTRUSTED_CELL', reason: 'not pinned', at: now + 2 } });
  t.equal(advance(refused, { kind: 'hello_sent' }, now + 3).state, 'HELLO_SENT', 'a refused agent may try again after a restart');
  s = advance(s, { kind: 'challenge_verified', cellCertificate: cert, softwareOnly: false }, now + 4);
  s = advance(s, { kind: 'attested' }, now + 5);
  t.equal(s.state, 'ATTESTED');
  t.same(s.cell_certificate, cert, 'the verified certificate is carried along');
  refuses(t, () => advance(s, { kind: 'challenge_verified', cellCertificate: cert, softwareOnly: false }, now), { code: 'HOLON_E_AGENT_STATE' });
  const back = parseAgentState(encodeAgentState(s), s.machine_id);
  t.same(back, s, 'state.json round-trips');
  refuses(t, () => parseAgentState(encodeAgentState(s), keyOf(newSigner())), { code: 'HOLON_E_AGENT_STATE', message: /belongs to machine/ });
  refuses(t, () => parseAgentState(new TextEncoder().encode('{"version":1'), s.machine_id), { code: 'HOLON_E_AGENT_STATE', message: /unreadable/ });
  t.equal(advance(s, { kind: 'reset' }, now + 6).state, 'UNBOOTSTRAPPED');
});

/**
 * `holonctl init` as an operator runs it (node dist/cli/main.js init):
 * files and modes, signatures that verify against the principal key, a
 * refusal that changes nothing, completion of an interrupted run (files
 * deleted, a stale temp file, a process killed part-way), the
 * --json shape, and no key material on stdout or stderr. Most cells here keep
 * everything in one directory (--principal-dir = --dir, which init-helpers
 * adds); the last tests run the default: the principal's files outside the
 * data dir, under $HOME/.config/holonet, and the data dir from HOLONET_DIR.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeyPublic } from '../../adapters/nats/credentials.js';
import { encodeId } from '../../bus-schemas/ids.js';
import { generateEd25519, signerFromSeed } from '../../bus-schemas/keys.js';
import { CellCertificateV1 } from '../../bus-schemas/v1/cell-certificate.js';
import { HOLON_ROLES } from '../../bus-schemas/v1/holon-role.js';
import { PolicyV1 } from '../../bus-schemas/v1/policy.js';
import { countFiles, holonctl, holonctlExact, initKilledAt, loadKey, MAIN, makeTemp, modeOf, snapshot } from './init-helpers.js';

const CREDS = ['nats/bootstrap.creds', 'nats/orchestrator-serve.creds', 'nats/orchestrator-writer.creds', 'nats/orchestrator-admin.creds', 'nats/holonctl.creds'];
const KEYS = ['keys/principal.key', 'keys/cell.key', 'nats/operator.nk', 'nats/system-account.nk', 'nats/account.nk', 'nats/account-signing.nk', ...CREDS];
const PUBLIC = ['cell-certificate.json', 'policy.json', 'nats/operator.jwt', 'nats/system-account.jwt', 'nats/account.jwt', 'nats/auth.conf'];

interface Report {
  dir: string;
  principal_dir: string;
  cell_name: string;
  principal_key: string;
  cell_id: string;
  nats: { operator: string; system_account: string; account: string; account_signing_key: string };
  created: { path: string; mode: string }[];
  kept: string[];
}

function initJson(t: Test, dir: string, extra: string[] = []): Report {
  const r = holonctl(['init', '--dir', dir, '--json', ...extra]);
  t.equal(r.status, 0, `init exits 0 (${r.stderr.trim()})`);
  return JSON.parse(r.stdout) as Report;
}

/** Every key, certificate and JWT in `dir` (and `principalDir`) fits together. */
function checkConsistent(t: Test, dir: string, principalDir = dir): void {
  const principal = loadKey(join(principalDir, 'keys/principal.key'));
  const cell = loadKey(join(dir, 'keys/cell.key'));
  const cert = CellCertificateV1.decode(readFileSync(join(dir, 'cell-certificate.json')));
  t.doesNotThrow(() => CellCertificateV1.verify(cert, principal.keyId), 'certificate verifies against the principal key');
  t.equal(cert.cell_id, encodeId('cell', cell.signer.publicKey), 'and certifies the cell key');
  const policy = PolicyV1.decode(readFileSync(join(dir, 'policy.json')));
  t.doesNotThrow(() => PolicyV1.verify(policy, principal.keyId), 'policy verifies against the principal key');
  const claims = (file: string, base = dir): { sub: string; iss: string; nats?: { issuer_account?: string } } =>
    JSON.parse(Buffer.from((/([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\./.exec(readFileSync(join(base, file), 'utf8'))?.[2] ?? ''), 'base64url').toString()) as { sub: string; iss: string };
  const operator = claims('nats/operator.jwt');
  t.equal(claims('nats/account.jwt').iss, operator.sub, 'the cell account JWT is signed by the operator');
  t.equal(claims('nats/system-account.jwt').iss, operator.sub, 'so is the system account JWT');
  const conf = readFileSync(join(dir, 'nats/auth.conf'), 'utf8');
  t.match(conf, `system_account: ${claims('nats/system-account.jwt').sub}`, 'auth.conf names the system account');
  t.match(conf, `${claims('nats/account.jwt').sub}: "`, 'and preloads the cell account');
  const signing = nkeyPublic(readFileSync(join(dir, 'nats/account-signing.nk'), 'utf8').trim(), 'account');
  for (const f of CREDS) {
    const c = claims(f, f === 'nats/holonctl.creds' ? principalDir : dir);
    t.equal(c.nats?.issuer_account, claims('nats/account.jwt').sub, `${f}: a user of the cell account`);
    t.equal(c.iss, signing, `${f}: signed by the account signing key`);
  }
}

void t.test('a fresh init: files, modes, signatures, output', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const dir = join(tmp, 'data');
  const r = holonctl(['init', '--dir', dir, '--cell-name', 'eu-west-1', '--tpm', 'optional']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, '', 'nothing on stderr');
  t.equal(modeOf(dir), '700', 'data dir 0700');
  t.equal(modeOf(join(dir, 'keys')), '700', 'keys/ 0700');
  t.equal(modeOf(join(dir, 'nats')), '700', 'nats/ 0700');
  for (const f of KEYS) t.equal(modeOf(join(dir, f)), '600', `${f} is 0600`);
  for (const f of PUBLIC) t.equal(modeOf(join(dir, f)), '644', `${f} is 0644`);
  t.same(readdirSync(dir).sort(), ['cell-certificate.json', 'keys', 'nats', 'policy.json'], 'nothing else, no temp files');
  checkConsistent(t, dir);

  const principal = loadKey(join(dir, 'keys/principal.key'));
  const cert = CellCertificateV1.decode(readFileSync(join(dir, 'cell-certificate.json')));
  t.equal(cert.name, 'eu-west-1', 'cell name from --cell-name');
  t.same(cert.allowed_roles, [...HOLON_ROLES], 'the cell may issue every role');
  t.ok(cert.not_after > cert.not_before, 'a validity window');
  const policy = PolicyV1.decode(readFileSync(join(dir, 'policy.json')));
  t.match(policy, { serial: 1, tpm: 'optional', preapproved_eks: [], denied_jurisdictions: [], nonce_lifetime_ms: 60_000 }, 'default policy with --tpm');

  t.match(r.stdout, `principal key ${principal.keyId}`, 'prints the principal key id');
  t.match(r.stdout, cert.cell_id, 'prints the cell id');
  t.match(r.stdout, join(dir, 'nats/auth.conf'), 'prints the paths');
  const secrets = [principal.seed, loadKey(join(dir, 'keys/cell.key')).seed, ...KEYS.slice(2, 6).map((f) => readFileSync(join(dir, f), 'utf8').trim())];
  for (const s of secrets) t.notOk(r.stdout.includes(s) || r.stderr.includes(s), 'no seed is printed');
  t.notMatch(r.stdout, /\bS[OAU][A-Z2-7]{50,}/, 'nothing that looks like an nkey seed');
});

void t.test('--json: the report shape; defaults', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const dir = join(tmp, 'd');
  const report = initJson(t, dir);
  t.same(Object.keys(report).sort(), ['cell_id', 'cell_name', 'created', 'dir', 'kept', 'nats', 'principal_dir', 'principal_key'], 'top-level fields');
  t.equal(report.dir, dir);
  t.equal(report.principal_dir, dir, 'one directory (--principal-dir = --dir)');
  t.equal(report.cell_name, 'local', 'default cell name');
  t.equal(report.principal_key, loadKey(join(dir, 'keys/principal.key')).keyId, 'principal_key is the key in the file');
  t.match(report.cell_id, /^cell1/);
  t.match(report.nats, { operator: /^O[A-Z2-7]{55}$/, system_account: /^A[A-Z2-7]{55}$/, account: /^A[A-Z2-7]{55}$/, account_signing_key: /^A[A-Z2-7]{55}$/ });
  t.same(report.created.map((c) => c.path.slice(dir.length + 1)).sort(), [...KEYS, ...PUBLIC].sort(), 'every file listed as created');
  for (const c of report.created) t.equal(c.mode, KEYS.some((k) => c.path.endsWith(k)) ? '0600' : '0644', `${c.path} mode`);
  t.same(report.kept, []);
  t.equal(PolicyV1.decode(readFileSync(join(dir, 'policy.json'))).tpm, 'required', 'TPM required by default');
});

void t.test('a second run refuses (exit 1, typed) and changes nothing', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const dir = join(tmp, 'd');
  initJson(t, dir);
  const before = snapshot(dir);
  const r = holonctl(['init', '--dir', dir]);
  t.equal(r.status, 1, 'exit 1');
  t.equal(r.stdout, '', 'nothing on stdout');
  t.match(r.stderr, /already initialized.*\[HOLON_E_INIT_EXISTS\]/, 'a typed refusal');
  t.same(snapshot(dir), before, 'not a byte, mode or mtime changed');
});

void t.test('an interrupted run is completed, reusing every key', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const dir = join(tmp, 'd');
  const first = initJson(t, dir, ['--cell-name', 'west']);
  const keysBefore = Object.fromEntries(KEYS.map((k) => [k, readFileSync(join(dir, k), 'utf8')]));
  unlinkSync(join(dir, 'policy.json'));
  unlinkSync(join(dir, 'nats/account.jwt'));
  writeFileSync(join(dir, 'nats/auth.conf.tmp-123-abc'), 'half a fil');
  const second = initJson(t, dir);
  t.same(second.created.map((c) => c.path.slice(dir.length + 1)), ['policy.json', 'nats/account.jwt'], 'only the missing files');
  t.equal(second.kept.length, KEYS.length + PUBLIC.length - 2, 'the rest kept');
  t.equal(second.principal_key, first.principal_key, 'same principal');
  t.equal(second.cell_id, first.cell_id, 'same cell');
  t.equal(second.cell_name, 'west', 'the cell name comes from the existing certificate');
  for (const k of KEYS) t.equal(readFileSync(join(dir, k), 'utf8'), keysBefore[k], `${k} untouched`);
  t.notOk(existsSync(join(dir, 'nats/auth.conf.tmp-123-abc')), 'the stale temp file is gone');
  checkConsistent(t, dir);
  t.equal(holonctl(['init', '--dir', dir]).status, 1, 'and now it is complete');

  // Killed right after the first key: only keys/principal.key is there.
  const { dir: tmp2, remove: remove2 } = makeTemp();
  t.teardown(remove2);
  const early = join(tmp2, 'd');
  initJson(t, early);
  const principal = loadKey(join(early, 'keys/principal.key')).keyId;
  for (const f of [...KEYS.slice(1), ...PUBLIC]) unlinkSync(join(early, f));
  const done = initJson(t, early);
  t.equal(done.principal_key, principal, 'the surviving principal key is reused');
  t.equal(done.created.length, KEYS.length + PUBLIC.length - 1, 'everything else created');
  checkConsistent(t, early);
});

void t.test('killed part-way through, a re-run always ends consistent', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const seen: number[] = [];
  for (const n of [1, 3, 6, 9, 12, 15]) {
    const dir = join(tmp, `k${n}`);
    await initKilledAt(dir, n);
    seen.push(countFiles(dir));
    const r = holonctl(['init', '--dir', dir, '--json']);
    t.ok(r.status === 0 || /HOLON_E_INIT_EXISTS/.test(r.stderr), `after a kill at ${n} files the re-run completes or finds it complete (${r.stderr.trim()})`);
    checkConsistent(t, dir);
  }
  // Where the kills landed depends on the machine's speed; the assertions above hold for any of them.
  t.comment(`files present after each kill: ${seen.join(', ')} (of ${KEYS.length + PUBLIC.length})`);
});


void t.test('a file that does not fit its keys: refused, nothing changed', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const dir = join(tmp, 'd');
  initJson(t, dir);
  // a certificate from another principal, and a missing JWT so the dir is not complete
  const other = signerFromSeed(generateEd25519().seed);
  const cert = CellCertificateV1.decode(readFileSync(join(dir, 'cell-certificate.json')));
  const { principal_seal: _s, ...body } = cert;
  writeFileSync(join(dir, 'cell-certificate.json'), JSON.stringify(CellCertificateV1.seal({ ...body, principal_key: encodeId('key', other.publicKey) }, other)));
  unlinkSync(join(dir, 'nats/operator.jwt'));
  const before = snapshot(dir);
  const r = holonctl(['init', '--dir', dir]);
  t.equal(r.status, 1);
  t.match(r.stderr, /cell-certificate\.json: signed by hkey1.*not by keys\/principal\.key.*\[HOLON_E_INIT_CONFLICT\]/);
  t.same(snapshot(dir), before, 'nothing changed');

  writeFileSync(join(dir, 'keys/cell.key'), 'garbage');
  const before2 = snapshot(dir);
  const r2 = holonctl(['init', '--dir', dir]);
  t.match(r2.stderr, /keys\/cell\.key: not a valid key file.*\[HOLON_E_INIT_CONFLICT\]/, 'a corrupt key is refused, not replaced');
  t.same(snapshot(dir), before2, 'nothing changed');
});

void t.test('usage errors exit 2; --help', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const bad = holonctl(['init', '--dir', join(tmp, 'x'), '--tpm', 'maybe']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--tpm "maybe": expected required or optional/);
  t.equal(holonctl(['init', '--dir', join(tmp, 'x'), '--cell-name', 'Not_A_Label']).status, 2);
  t.notOk(existsSync(join(tmp, 'x')), 'a usage error creates nothing');
  const help = holonctl(['init', '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /usage: holonctl init \[--dir <data dir>\]/);
  t.match(holonctl(['--help']).stdout, /^ {2}init +create the principal key/m, 'listed in holonctl --help');
  rmSync(join(tmp, 'x'), { recursive: true, force: true });
});

void t.test('by default the principal\'s files are outside the data dir, under $HOME/.config/holonet', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const env = { HOME: join(tmp, 'home'), XDG_CONFIG_HOME: '', HOLONET_DIR: '' };
  const dir = join(tmp, 'orchestrator');
  const r = holonctlExact(['init', '--dir', dir, '--json'], undefined, env);
  t.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  const pdir = join(tmp, 'home/.config/holonet');
  t.equal(report.principal_dir, pdir, 'the principal dir is reported');
  for (const d of ['', 'keys', 'nats']) t.equal(modeOf(join(pdir, d)), '700', `principal dir ${d || '.'} is 0700`);
  t.equal(modeOf(join(pdir, 'keys/principal.key')), '600', 'the principal key is there, 0600');
  t.equal(modeOf(join(pdir, 'nats/holonctl.creds')), '600', 'and holonctl\'s credential, 0600');
  t.same(readFileSync(join(pdir, 'cell-certificate.json')), readFileSync(join(dir, 'cell-certificate.json')), 'and a copy of the certificate');
  t.same(readdirSync(pdir).sort(), ['cell-certificate.json', 'keys', 'nats'], 'nothing else');
  t.notOk(existsSync(join(dir, 'keys/principal.key')), 'no principal key in the data dir');
  t.notOk(existsSync(join(dir, 'nats/holonctl.creds')), 'nor holonctl\'s credential');
  const seed = loadKey(join(pdir, 'keys/principal.key')).seed;
  const everything = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'));
  t.notOk(everything.some((text) => text.includes(seed)), 'the principal seed is in no file of the data dir');
  for (const f of ['nats/orchestrator-serve.creds', 'nats/orchestrator-writer.creds', 'nats/orchestrator-admin.creds']) t.equal(modeOf(join(dir, f)), '600', `${f} in the data dir, 0600`);
  checkConsistent(t, dir, pdir);
  t.match(holonctlExact(['init', '--dir', dir], undefined, env).stderr, /HOLON_E_INIT_EXISTS/, 'a second run: complete, refused');
  const before = snapshot(dir);
  const here = holonctlExact(['init', '--dir', dir, '--principal-dir', dir], undefined, env);
  t.equal(here.status, 1, 'looking for the principal key in the data dir (holonctl up does): exit 1');
  t.match(here.stderr, `${join(dir, 'cell-certificate.json')}: signed by ${report.principal_key}, not by keys/principal.key (there is no ${join(dir, 'keys/principal.key')}: pass the --principal-dir that holds it)`, 'and it says where the key is not');
  t.same(snapshot(dir), before, 'nothing changed');

  // XDG_CONFIG_HOME wins over HOME
  const xdg = holonctlExact(['init', '--dir', join(tmp, 'o2'), '--json'], undefined, { ...env, XDG_CONFIG_HOME: join(tmp, 'xdg') });
  t.equal(xdg.status, 0, xdg.stderr);
  t.equal((JSON.parse(xdg.stdout) as Report).principal_dir, join(tmp, 'xdg/holonet'), '$XDG_CONFIG_HOME/holonet');
});

void t.test('a principal dir holds one cell: another cell is refused, an existing principal key is used, not replaced', async (t) => {
  const { dir: tmp, remove } = makeTemp();
  t.teardown(remove);
  const pdir = join(tmp, 'principal');
  const first = holonctlExact(['init', '--dir', join(tmp, 'a'), '--principal-dir', pdir, '--json']);
  t.equal(first.status, 0, first.stderr);
  const key = readFileSync(join(pdir, 'keys/principal.key'), 'utf8');

  const before = snapshot(pdir);
  const other = holonctlExact(['init', '--dir', join(tmp, 'b'), '--principal-dir', pdir]);
  t.equal(other.status, 1, 'another cell into the same principal dir: exit 1');
  t.match(other.stderr, `${join(pdir, 'cell-certificate.json')}: is not ${join(tmp, 'b/cell-certificate.json')}: this principal dir belongs to another cell; pass another --principal-dir`);
  t.match(other.stderr, /\[HOLON_E_INIT_CONFLICT\]/, 'a typed refusal');
  t.same(snapshot(pdir), before, 'the principal dir is unchanged');
  t.notOk(existsSync(join(tmp, 'b')), 'and no data dir was made');

  // The principal's key alone (the certificate of the first cell moved away): a second cell under the same principal.
  rmSync(join(pdir, 'cell-certificate.json'));
  rmSync(join(pdir, 'nats/holonctl.creds'));
  const second = holonctlExact(['init', '--dir', join(tmp, 'b'), '--principal-dir', pdir, '--json']);
  t.equal(second.status, 0, second.stderr);
  const r = JSON.parse(second.stdout) as Report;
  t.equal(r.principal_key, (JSON.parse(first.stdout) as Report).principal_key, 'the same principal');
  t.same(r.kept, [join(pdir, 'keys/principal.key')], 'its key kept');
  t.equal(readFileSync(join(pdir, 'keys/principal.key'), 'utf8'), key, 'byte for byte');
  checkConsistent(t, join(tmp, 'b'), pdir);
});

void t.test('the data dir: --dir, else $HOLONET_DIR, else ./.holonet', async (t) => {
  const { dir, remove } = makeTemp();
  t.teardown(remove);
  const env = { HOME: join(dir, 'home'), XDG_CONFIG_HOME: '', HOLONET_DIR: '' };
  const cwdDefault = holonctlExact(['init', '--json'], dir, env);
  t.equal(cwdDefault.status, 0, cwdDefault.stderr);
  t.ok(existsSync(join(dir, '.holonet', 'keys', 'cell.key')), './.holonet without --dir and HOLONET_DIR');

  const fromEnv = holonctlExact(['init', '--json', '--principal-dir', join(dir, 'p2')], dir, { ...env, HOLONET_DIR: join(dir, 'from-env') });
  t.equal(fromEnv.status, 0, fromEnv.stderr);
  t.equal((JSON.parse(fromEnv.stdout) as Report).dir, join(dir, 'from-env'), 'HOLONET_DIR when --dir is absent');
  t.ok(existsSync(join(dir, 'from-env', 'keys', 'cell.key')));

  const flag = holonctlExact(['init', '--json', '--dir', join(dir, 'from-flag'), '--principal-dir', join(dir, 'p3')], dir, { ...env, HOLONET_DIR: join(dir, 'from-env-2') });
  t.equal((JSON.parse(flag.stdout) as Report).dir, join(dir, 'from-flag'), '--dir wins over HOLONET_DIR');
  t.notOk(existsSync(join(dir, 'from-env-2')), 'which is left alone');
});

void t.test('--principal-dir inside the data dir is refused; no HOME and no --principal-dir is a usage error', async (t) => {
  const { dir, remove } = makeTemp();
  t.teardown(remove);
  const inside = holonctlExact(['init', '--dir', join(dir, 'd'), '--principal-dir', join(dir, 'd/principal')]);
  t.equal(inside.status, 2, 'exit 2');
  t.match(inside.stderr, `--principal-dir ${join(dir, 'd/principal')} is inside the data dir ${join(dir, 'd')}, which the orchestrator reads`);
  const { HOME: _h, XDG_CONFIG_HOME: _x, ...noHome } = process.env;
  const r = spawnSync(process.execPath, [MAIN, 'init', '--dir', join(dir, 'd')], { encoding: 'utf8', env: noHome });
  t.equal(r.status, 2, 'no HOME: exit 2');
  t.match(r.stderr, '--principal-dir <path> is needed: neither XDG_CONFIG_HOME nor HOME is an absolute path');
  t.notOk(existsSync(join(dir, 'd')), 'a usage error creates nothing');
});

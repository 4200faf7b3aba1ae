/**
 * deploy/install.sh into temporary staging roots, for the Linux and the
 * FreeBSD layout: what lands where with which mode, that a second run changes
 * nothing but the code and keeps an operator's edited config, that the
 * installed code loads with production dependencies only, and that every
 * refusal has its documented exit status.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAYOUTS, REPO, describeTree, diffTrees, makeTempDir, modeOf, octal, runInstall } from './staging.js';

const HKEY = `hkey1${'q'.repeat(58)}`;
/** What a FreeBSD agent's units are created from; a staging root must be told (install.sh --help). */
const RELEASE = ['--bastille-release', '14.2-RELEASE'];

/** Entry points this build has (agent/orchestrator/cli arrive with their issues). */
const built = (entry: string): boolean => existsSync(join(REPO, 'dist', entry, 'main.js'));

function expectMode(t: Test, path: string, mode: number, what: string): void {
  t.equal(octal(modeOf(path)), octal(mode), `${what} is ${octal(mode)}`);
}

for (const os of ['linux', 'freebsd'] as const) {
  void t.test(`${os} layout: files and modes; a second run changes nothing but the code`, async (t) => {
    const { dir: root, remove } = makeTempDir(`holonet-install-${os}-`);
    t.teardown(remove);
    const L = LAYOUTS[os];
    const osArgs = os === 'freebsd' ? RELEASE : [];
    const r = runInstall(['--root', root, '--os', os, '--principal-root', HKEY, ...osArgs]);
    t.equal(r.status, 0, `install.sh exits 0\n${r.stderr}`);
    const at = (p: string): string => join(root, p);

    expectMode(t, at(L.etc), 0o750, 'config dir');
    expectMode(t, at(L.data), 0o755, 'data root');
    expectMode(t, at(`${L.data}/agent`), 0o700, 'agent data dir');
    expectMode(t, at(`${L.data}/orchestrator`), 0o700, 'orchestrator data dir');
    expectMode(t, at(`${L.etc}/agent.json`), 0o600, 'agent.json');
    expectMode(t, at(`${L.etc}/orchestrator.json`), 0o640, 'orchestrator.json');

    const agentCfg = JSON.parse(readFileSync(at(`${L.etc}/agent.json`), 'utf8'));
    t.same(agentCfg, {
      data_dir: `${L.data}/agent`,
      nats: { servers: ['nats://127.0.0.1:4222'], bootstrap_creds: `${L.etc}/bootstrap.creds` },
      log_level: 'info',
      ...(os === 'linux' ? { isolation: 'linux' } : { isolation: 'bastille', bastille: { release: '14.2-RELEASE' } }),
      principal_root: HKEY,
    }, 'agent.json is the documented default, with the pinned principal');
    t.same(JSON.parse(readFileSync(at(`${L.etc}/orchestrator.json`), 'utf8')), {
      data_dir: `${L.data}/orchestrator`,
      nats: {
        servers: ['nats://127.0.0.1:4222'],
        creds: 'nats/orchestrator-serve.creds',
        writer_creds: 'nats/orchestrator-writer.creds',
        admin_creds: 'nats/orchestrator-admin.creds',
      },
      principal_key: HKEY,
      log_level: 'info',
    }, 'orchestrator.json is the documented default, with the pinned principal');

    // code: dist without tests/benchmarks, package files, production node_modules only
    t.ok(existsSync(at(`${L.code}/dist/bus-schemas`)), 'dist/bus-schemas installed');
    t.notOk(existsSync(at(`${L.code}/dist/test`)), 'dist/test not shipped');
    t.notOk(existsSync(at(`${L.code}/dist/bench`)), 'dist/bench not shipped');
    t.same(readFileSync(at(`${L.code}/package.json`)), readFileSync(join(REPO, 'package.json')), 'package.json copied');
    t.ok(existsSync(at(`${L.code}/package-lock.json`)), 'package-lock.json copied');
    t.ok(existsSync(at(`${L.code}/node_modules/pino/package.json`)), 'a production dependency is there');
    for (const dev of ['tap', 'typescript', 'eslint', 'fast-check']) {
      t.notOk(existsSync(at(`${L.code}/node_modules/${dev}`)), `dev dependency ${dev} left out`);
    }
    t.equal(modeOf(at(L.code)) & 0o022, 0, 'code is not group/other writable');
    t.notOk(readdirSync(at(L.code.replace(/\/[^/]+$/, ''))).some((n) => /^holonet\.(new|old)/.test(n)), 'no staging leftovers');

    for (const [cmd, entry] of [['holonctl', 'cli'], ['holon-agent', 'agent'], ['holon-orchestrator', 'orchestrator']] as const) {
      const link = at(`${L.bin}/${cmd}`);
      if (built(entry)) {
        t.equal(readlinkSync(link), `${L.code}/dist/${entry}/main.js`, `${cmd} links to the installed entry point`);
        expectMode(t, at(`${L.code}/dist/${entry}/main.js`), 0o755, `${entry}/main.js`);
      } else {
        t.notOk(existsSync(link) || lstatSync(link, { throwIfNoEntry: false }) !== undefined, `${cmd}: no dangling link while dist/${entry}/main.js is not built`);
        t.match(r.stderr, `dist/${entry}/main.js is not in this build`, `${cmd}: the missing entry point is reported`);
      }
    }

    if (os === 'linux') {
      for (const unit of ['holon-agent', 'holon-orchestrator']) {
        const installed = at(`/etc/systemd/system/${unit}.service`);
        expectMode(t, installed, 0o644, `${unit}.service`);
        t.equal(readFileSync(installed, 'utf8'), readFileSync(join(REPO, 'deploy/systemd', `${unit}.service`), 'utf8'), `${unit}.service installed verbatim (default node)`);
      }
    } else {
      for (const svc of ['holon_agent', 'holon_orchestrator']) {
        expectMode(t, at(`/usr/local/etc/rc.d/${svc}`), 0o555, `rc.d/${svc}`);
        t.equal(readFileSync(at(`/usr/local/etc/rc.d/${svc}`), 'utf8'), readFileSync(join(REPO, 'deploy/freebsd/rc.d', svc), 'utf8'), `rc.d/${svc} installed verbatim`);
        expectMode(t, at(`/usr/local/etc/newsyslog.conf.d/${svc}.conf`), 0o644, `newsyslog ${svc}.conf`);
      }
      expectMode(t, at('/var/log/holonet'), 0o750, 'log dir');
      expectMode(t, at('/var/run/holonet'), 0o755, 'pidfile dir');
    }

    // staging: no user created, no chown, and it says what it would do instead
    t.match(r.stdout, os === 'linux' ? /useradd --system --gid holonet/ : /pw useradd holonet -g holonet/, 'prints the user creation it skipped');
    t.match(r.stdout, `chown holonet:holonet ${L.data}/orchestrator`, 'prints the ownership to apply on the target');
    t.match(r.stdout, /Next steps:/, 'prints next steps');
    t.notMatch(r.stdout, /principal_root/, 'no "set principal_root" step when it was given');

    // --- second run: idempotent, keeps an edited config ---
    const edited = join(root, L.etc, 'agent.json');
    const mine = '{ "operator": "edited this", "principal_root": "hkey1mine" }\n';
    writeFileSync(edited, mine);
    chmodSync(edited, 0o600);
    const code = L.code.slice(1);
    const before = describeTree(root, [code]);

    const second = runInstall(['--root', root, '--os', os, '--principal-root', HKEY, ...osArgs]);
    t.equal(second.status, 0, `second run exits 0\n${second.stderr}`);
    t.same(diffTrees(before, describeTree(root, [code])), [], 'nothing outside the code directory changed (modes, owners, bytes, mtimes, links)');
    t.equal(readFileSync(edited, 'utf8'), mine, 'the operator\'s config is kept byte for byte');
    t.match(second.stdout, `kept existing ${L.etc}/agent.json`, 'says it kept the config');
    t.match(second.stderr, `does not pin ${HKEY}; it was NOT changed`, 'warns that --principal-root did not apply');
    t.match(second.stdout, `replaced code in ${L.code}`, 'the code is replaced');
    t.notMatch(second.stdout, /installed \/|created \/|wrote default/, 'nothing else is reported as new');

    // a config others can read is reported, never "fixed" behind the operator's back
    // while the modes that are the security boundary are restored
    chmodSync(edited, 0o644);
    chmodSync(join(root, L.data, 'agent'), 0o755);
    const third = runInstall(['--root', root, '--os', os]);
    t.equal(third.status, 0, 'third run exits 0 (an upgrade needs no --bastille-release: agent.json is kept)');
    t.match(third.stderr, `${L.etc}/agent.json is readable by others`, 'warns about a world-readable config');
    t.equal(octal(modeOf(edited)), '0644', 'and leaves its mode alone');
    t.equal(octal(modeOf(join(root, L.data, 'agent'))), '0700', 'data dir mode is enforced again');
  });
}

void t.test('--component agent --node: only the agent side, the given node, and code that loads', async (t) => {
  const { dir: root, remove } = makeTempDir('holonet-agent-only-');
  t.teardown(remove);
  const r = runInstall(['--root', root, '--os', 'linux', '--component', 'agent', '--node', '/usr/local/bin/node']);
  t.equal(r.status, 0, `exit 0\n${r.stderr}`);
  t.ok(existsSync(join(root, 'etc/holonet/agent.json')), 'agent.json');
  t.ok(existsSync(join(root, 'etc/systemd/system/holon-agent.service')), 'agent unit');
  t.notOk(existsSync(join(root, 'etc/holonet/orchestrator.json')), 'no orchestrator.json');
  t.notOk(existsSync(join(root, 'var/lib/holonet/orchestrator')), 'no orchestrator data dir');
  t.notOk(existsSync(join(root, 'etc/systemd/system/holon-orchestrator.service')), 'no orchestrator unit');
  t.match(r.stdout, /systemctl enable --now holon-agent\n/, 'next steps name only the agent');
  t.match(r.stdout, /set "principal_root" in \/etc\/holonet\/agent\.json/, 'without --principal-root the next steps say to pin it');
  t.equal(JSON.parse(readFileSync(join(root, 'etc/holonet/agent.json'), 'utf8')).principal_root, '', 'and the default leaves it empty');

  const unit = readFileSync(join(root, 'etc/systemd/system/holon-agent.service'), 'utf8');
  t.match(unit, /^ExecStart=\/usr\/local\/bin\/node \/opt\/holonet\/dist\/agent\/main\.js --config \/etc\/holonet\/agent\.json$/m, 'ExecStart uses the given node');
  t.notMatch(unit, /\/usr\/bin\/node/, 'and only that');

  // Import every installed library module (not the main.js programs, which
  // would start). Resolution starts at the installed files, so a dependency
  // missing from the copied node_modules (a devDependency used by product
  // code, say) fails here.
  const code = join(root, 'opt/holonet');
  const script = `
    import { readdirSync, statSync } from 'node:fs';
    import { join } from 'node:path';
    import { pathToFileURL } from 'node:url';
    const files = [];
    const walk = (d) => { for (const e of readdirSync(d)) { const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.js') && !p.endsWith('/main.js')) files.push(p); } };
    for (const top of ['bus-schemas', 'adapters', 'agent', 'orchestrator']) {
      try { statSync(join(process.argv[1], 'dist', top)); } catch { continue; }
      walk(join(process.argv[1], 'dist', top));
    }
    const failed = [];
    for (const f of files) { try { await import(pathToFileURL(f).href); } catch (e) { failed.push(f + ': ' + e.message.split('\\n')[0]); } }
    console.log(JSON.stringify({ count: files.length, failed }));`;
  const l = spawnSync(process.execPath, ['--input-type=module', '-e', script, code], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  t.equal(l.status, 0, `loader ran\n${l.stderr}`);
  const { count, failed } = JSON.parse(l.stdout.trim().split('\n').pop() ?? '{}') as { count: number; failed: string[] };
  t.ok(count > 0, `imported ${count} installed modules`);
  t.same(failed, [], 'every installed module loads');
});

void t.test('--node of another ABI than the copied better-sqlite3: a warning that says how to rebuild', async (t) => {
  const { dir: tmp, remove } = makeTempDir('holonet-abi-');
  t.teardown(remove);
  // What Node 24 says when it loads a better-sqlite3 built by Node 20 (ERR_DLOPEN_FAILED).
  const node24 = join(tmp, 'node24');
  writeFileSync(node24, `#!/bin/sh
echo "Error: The module '$PWD/node_modules/better-sqlite3/build/Release/better_sqlite3.node'" >&2
echo "was compiled against a different Node.js version using" >&2
echo "NODE_MODULE_VERSION 115. This version of Node.js requires" >&2
echo "NODE_MODULE_VERSION 137. Please try re-compiling or re-installing" >&2
exit 1
`, { mode: 0o755 });
  const r = runInstall(['--root', join(tmp, 'root'), '--os', 'linux', '--component', 'agent', '--node', node24]);
  t.equal(r.status, 0, 'a warning, not a failure (the target may rebuild)');
  t.match(r.stderr, `install.sh: warning: ${node24} cannot load /opt/holonet/node_modules/better-sqlite3 (built for Node ABI 115, this node has ABI 137): run install.sh again with --npm-ci under that node, or: cd /opt/holonet && PATH=${tmp}:$PATH npm rebuild better-sqlite3`);
  const same = runInstall(['--root', join(tmp, 'root2'), '--os', 'linux', '--component', 'agent', '--node', process.execPath]);
  t.notMatch(same.stderr, /cannot load/, 'the node that built the modules loads them: no warning');
});

void t.test('--npm-ci runs `npm ci --omit=dev` in the new code directory', async (t) => {
  // The real npm needs the registry; a stand-in on PATH records how it is called.
  const { dir: tmp, remove } = makeTempDir('holonet-npmci-');
  t.teardown(remove);
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\nprintf '%s\\n' "$PWD" "$*" > "${tmp}/npm-call"\nmkdir -p node_modules/from-npm-ci\n`, { mode: 0o755 });
  const root = join(tmp, 'root');
  const r = runInstall(['--root', root, '--os', 'linux', '--npm-ci'], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
  t.equal(r.status, 0, `exit 0\n${r.stderr}`);
  const [cwd, args] = readFileSync(join(tmp, 'npm-call'), 'utf8').split('\n');
  t.match(cwd, new RegExp(`^${root}/opt/holonet\\.new\\.\\d+$`), 'npm ran in the staged code directory');
  t.match(args, /^ci --omit=dev\b/, 'as npm ci --omit=dev');
  t.ok(statSync(join(root, 'opt/holonet/node_modules/from-npm-ci')).isDirectory(), 'its node_modules was installed');
  t.notOk(existsSync(join(root, 'opt/holonet/node_modules/pino')), 'nothing was copied from the source node_modules');

  writeFileSync(join(bin, 'npm'), '#!/bin/sh\necho "npm: registry unreachable" >&2\nexit 1\n', { mode: 0o755 });
  const failed = runInstall(['--root', join(tmp, 'root2'), '--os', 'linux', '--npm-ci'], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
  t.equal(failed.status, 1, 'a failing npm ci exits 1');
  t.match(failed.stderr, /npm ci --omit=dev failed/, 'and says so');
  t.notOk(existsSync(join(tmp, 'root2/opt/holonet')), 'no half-installed code');
  t.same(readdirSync(join(tmp, 'root2/opt')), [], 'and no staging directory left behind');
});

void t.test('refusals and their exit status', async (t) => {
  const { dir: tmp, remove } = makeTempDir('holonet-refuse-');
  t.teardown(remove);
  const cases: [string, string[], number, RegExp][] = [
    ['unknown option', ['--bogus'], 2, /unknown argument: --bogus/],
    ['bad --os', ['--root', tmp, '--os', 'solaris'], 2, /--os must be linux or freebsd/],
    ['bad --component', ['--root', tmp, '--component', 'db'], 2, /--component must be agent, orchestrator or all/],
    ['relative --root', ['--root', 'stage'], 2, /--root must be an absolute path/],
    ['--root without a value', ['--root'], 2, /--root needs a value/],
    ['malformed principal', ['--root', tmp, '--principal-root', 'hkey1xyz'], 2, /--principal-root must be a principal key id/],
    ['FreeBSD agent without a release', ['--root', tmp, '--os', 'freebsd'], 2, /a FreeBSD agent needs --bastille-release \(e\.g\. 14\.2-RELEASE\)/],
    ['malformed release', ['--root', tmp, '--os', 'freebsd', '--bastille-release', '14.2-release-p1'], 2, /--bastille-release must be a release like 14\.2-RELEASE/],
    ['relative --node', ['--root', tmp, '--node', 'node'], 2, /--node must be an absolute path/],
    ['source not built', ['--root', tmp, '--source', tmp], 3, /package\.json is missing/],
    ['other OS into /', ['--os', process.platform === 'linux' ? 'freebsd' : 'linux'], 3, /installs only into a staging root/],
  ];
  for (const [what, args, status, message] of cases) {
    const r = runInstall(args);
    t.equal(r.status, status, `${what}: exit ${status}`);
    t.match(r.stderr, message, `${what}: says why`);
  }
  // a checkout without dist/
  mkdirSync(join(tmp, 'src'));
  writeFileSync(join(tmp, 'src/package.json'), '{}');
  writeFileSync(join(tmp, 'src/package-lock.json'), '{}');
  const r = runInstall(['--root', join(tmp, 'root'), '--source', join(tmp, 'src')]);
  t.equal(r.status, 3, 'unbuilt source: exit 3');
  t.match(r.stderr, /dist is missing: build first/, 'unbuilt source: says to build');
  const help = runInstall(['--help']);
  t.equal(help.status, 0, '--help exits 0');
  t.match(help.stdout, /--component C/, '--help lists the options');
});

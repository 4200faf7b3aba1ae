/**
 * Every config install.sh writes is one its daemon accepts: for each OS
 * layout and component, the production order of docs/deploy.md — `holonctl
 * init` into the orchestrator's data dir (the principal's files outside it),
 * install.sh with the principal it printed — then the daemons' own
 * `--check-config` on what was written. A FreeBSD agent.json used to lack
 * the `bastille` section its isolation requires (exit 78). Without
 * --principal-root the agent refuses exactly the one key the next steps tell
 * the operator to set.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { holonctlExact } from '../cli/init-helpers.js';
import { LAYOUTS, REPO, makeTempDir, runInstall, type RunResult } from './staging.js';

const RELEASE = ['--bastille-release', '14.2-RELEASE'];

/** `node dist/<daemon>/main.js --config FILE --check-config`. */
function checkConfig(daemon: 'agent' | 'orchestrator', file: string): RunResult {
  const r = spawnSync(process.execPath, [join(REPO, 'dist', daemon, 'main.js'), '--config', file, '--check-config'], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The orchestrator's config as the target host reads it: its data_dir is an
 * absolute target path, here below the staging root, so a copy names that.
 */
function stagedOrchestratorConfig(root: string, file: string): string {
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as { data_dir: string };
  const copy = join(root, 'orchestrator.staged.json');
  writeFileSync(copy, JSON.stringify({ ...cfg, data_dir: join(root, cfg.data_dir) }));
  return copy;
}

async function variant(t: Test, os: 'linux' | 'freebsd', component: 'agent' | 'orchestrator' | 'all'): Promise<void> {
  const { dir: root, remove } = makeTempDir(`holonet-cfg-${os}-${component}-`);
  t.teardown(remove);
  const L = LAYOUTS[os];
  const data = join(root, L.data, 'orchestrator');
  const init = holonctlExact(['init', '--dir', data, '--principal-dir', join(root, 'principal'), '--cell-name', 'prod', '--json']);
  t.equal(init.status, 0, `holonctl init exits 0\n${init.stderr}`);
  const principal = (JSON.parse(init.stdout) as { principal_key: string }).principal_key;

  const withAgent = component !== 'orchestrator';
  const inst = runInstall(['--root', root, '--os', os, '--component', component, '--principal-root', principal, ...(os === 'freebsd' && withAgent ? RELEASE : [])]);
  t.equal(inst.status, 0, `install.sh exits 0\n${inst.stderr}`);

  if (withAgent) {
    const file = join(root, L.etc, 'agent.json');
    const r = checkConfig('agent', file);
    t.equal(r.status, 0, `holon-agent --check-config accepts agent.json\n${r.stderr}`);
    t.equal(r.stdout, `${file}: ok\n`, 'and says so');
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as { nats: { bootstrap_creds: string }; bastille?: unknown };
    t.equal(cfg.nats.bootstrap_creds, `${L.etc}/bootstrap.creds`, 'it names where the cell\'s bootstrap.creds is copied to');
    t.same(cfg.bastille, os === 'freebsd' ? { release: '14.2-RELEASE' } : undefined, os === 'freebsd' ? 'the Bastille release, as required with isolation "bastille"' : 'no bastille section on Linux');
  }
  if (component !== 'agent') {
    const file = join(root, L.etc, 'orchestrator.json');
    const r = checkConfig('orchestrator', stagedOrchestratorConfig(root, file));
    t.equal(r.status, 0, `holon-orchestrator --check-config accepts orchestrator.json after holonctl init\n${r.stderr}`);
    t.match(r.stderr, /: ok \(cell cell1[0-9a-z]+\)\n$/, 'and names the cell');
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as { nats: Record<string, unknown>; principal_key: string };
    t.equal(cfg.principal_key, principal, 'the principal is pinned');
    for (const key of ['creds', 'writer_creds', 'admin_creds']) {
      t.ok(existsSync(resolve(data, String(cfg.nats[key]))), `nats.${key} (${String(cfg.nats[key])}) is a file holonctl init made`);
    }
  }
}

for (const os of ['linux', 'freebsd'] as const) {
  for (const component of ['agent', 'orchestrator', 'all'] as const) {
    void t.test(`${os}, --component ${component}: the written configs pass --check-config`, (t) => variant(t, os, component));
  }
}

void t.test('without --principal-root the agent refuses exactly $.principal_root (exit 78), as the next steps say', async (t) => {
  for (const os of ['linux', 'freebsd'] as const) {
    const { dir: root, remove } = makeTempDir(`holonet-cfg-${os}-unpinned-`);
    t.teardown(remove);
    const inst = runInstall(['--root', root, '--os', os, '--component', 'agent', ...(os === 'freebsd' ? RELEASE : [])]);
    t.equal(inst.status, 0, `${os}: install.sh exits 0\n${inst.stderr}`);
    const file = join(root, LAYOUTS[os].etc, 'agent.json');
    t.match(inst.stdout, `set "principal_root" in ${LAYOUTS[os].etc}/agent.json`, `${os}: the next steps say to pin it`);
    const r = checkConfig('agent', file);
    t.equal(r.status, 78, `${os}: exit 78`);
    t.equal(r.stderr, `agent config ${file}: $.principal_root: not set: pin the principal's root key id (hkey1…), e.g. holonctl init prints it as principal key\n`, `${os}: that one key and nothing else`);
  }
});

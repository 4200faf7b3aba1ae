/**
 * The FreeBSD rc.d scripts, checked on Linux three ways:
 *  1. `sh -n` (syntax; FreeBSD's sh and dash are both POSIX ash descendants);
 *  2. the rc.subr(8) conventions, by parsing: PROVIDE = name = file name,
 *     rcvar, `. /etc/rc.subr` first, load_rc_config before the `: ${…:=…}`
 *     defaults (so rc.conf wins), `run_rc_command "$1"` last;
 *  3. by running them against an rc.subr stand-in that implements the parts
 *     they use (load_rc_config reads an rc.conf, checkyesno) and whose
 *     run_rc_command prints what the real one would act on — the daemon(8)
 *     command line, pidfile, procname, required files — and checking those
 *     against a FreeBSD-layout install made by install.sh.
 * The real rc.subr and daemon(8) cannot run here (they need FreeBSD's ps, jls,
 * sysctl); the stand-in follows rc.subr's documented semantics.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAYOUTS, REPO, makeTempDir, runInstall } from './staging.js';

const SERVICES = ['holon_agent', 'holon_orchestrator'] as const;
const ENTRY = { holon_agent: 'agent', holon_orchestrator: 'orchestrator' } as const;
const scriptPath = (svc: string): string => join(REPO, 'deploy/freebsd/rc.d', svc);

const RC_SUBR_STANDIN = String.raw`
# rc.subr stand-in: the subset of FreeBSD rc.subr(8) the Holonet scripts use.
load_rc_config() {
	[ -n "$1" ] || { echo 'USAGE: load_rc_config name' >&2; exit 3; }
	_loaded_rc_config=$1
	[ -n "$RC_CONF_FILE" ] && . "$RC_CONF_FILE"
	return 0
}
checkyesno() {
	eval _value=\$$1
	case $_value in
	[Yy][Ee][Ss]|[Tt][Rr][Uu][Ee]|[Oo][Nn]|1) return 0 ;;
	[Nn][Oo]|[Ff][Aa][Ll][Ss][Ee]|[Oo][Ff][Ff]|0) return 1 ;;
	*) echo "\$$1 is not set properly - see rc.conf(5)." >&2; return 1 ;;
	esac
}
warn() { echo "$0: WARNING: $*" >&2; }
info() { :; }
debug() { :; }
err() { _c=$1; shift; echo "$0: ERROR: $*" >&2; exit $_c; }
run_rc_command() {
	echo "arg=$1"
	echo "loaded_rc_config=$_loaded_rc_config"
	for _v in name rcvar command command_args procname pidfile required_files required_dirs extra_commands start_precmd checkconfig_cmd; do
		eval "_x=\${$_v}"; echo "$_v=$_x"
	done
	for _s in chdir env; do _vn=$name"_"$_s; eval "_x=\$$_vn"; echo "$_vn=$_x"; done
	for _f in "$start_precmd" "$checkconfig_cmd"; do
		case $(command -V "$_f" 2>/dev/null) in *function*) echo "function:$_f=yes" ;; *) echo "function:$_f=no" ;; esac
	done
	if checkyesno "$rcvar"; then echo enabled=yes; else echo enabled=no; fi
}
`;

/** Run an rc.d script against the stand-in with the given rc.conf text; its printed variables. */
function runScript(dir: string, svc: string, rcConf: string): Map<string, string> {
  const text = readFileSync(scriptPath(svc), 'utf8');
  const subr = join(dir, 'rc.subr');
  writeFileSync(subr, RC_SUBR_STANDIN);
  const patched = text.replace(/^\. \/etc\/rc\.subr$/m, `. ${subr}`);
  if (patched === text) throw new Error(`${svc}: no ". /etc/rc.subr" line`);
  const copy = join(dir, svc);
  writeFileSync(copy, patched);
  const conf = join(dir, `${svc}.rc.conf`);
  writeFileSync(conf, rcConf);
  const r = spawnSync('sh', [copy, 'start'], { encoding: 'utf8', env: { PATH: process.env.PATH, RC_CONF_FILE: conf } });
  if (r.status !== 0) throw new Error(`${svc} exited ${r.status}: ${r.stderr}`);
  return new Map(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

for (const svc of SERVICES) {
  void t.test(`${svc}: sh -n and the rc.subr conventions`, async (t) => {
    const text = readFileSync(scriptPath(svc), 'utf8');
    const n = spawnSync('sh', ['-n', scriptPath(svc)], { encoding: 'utf8' });
    t.equal(n.status, 0, `sh -n passes\n${n.stderr}`);
    const lines = text.split('\n');
    const idx = (re: RegExp): number => lines.findIndex((l) => re.test(l));

    t.equal(lines[0], '#!/bin/sh', 'starts with #!/bin/sh');
    t.match(text, new RegExp(`^# PROVIDE: ${svc}$`, 'm'), 'PROVIDE is the script name');
    t.match(text, /^# REQUIRE: .*\bLOGIN\b/m, 'REQUIRE: LOGIN (after the base system is up)');
    t.match(text, /^# KEYWORD: .*\bshutdown\b/m, 'KEYWORD: shutdown (stopped cleanly at shutdown)');
    t.match(text, new RegExp(`^name="${svc}"$`, 'm'), 'name= is the script name');
    t.match(text, new RegExp(`^rcvar="${svc}_enable"$`, 'm'), 'rcvar= is ${name}_enable');
    t.match(text, new RegExp(`^: \\$\\{${svc}_enable:="NO"\\}$`, 'm'), 'disabled unless rc.conf enables it');
    t.match(text, new RegExp(`^: \\$\\{${svc}_config:="/usr/local/etc/holonet/${ENTRY[svc]}\\.json"\\}$`, 'm'), 'config default in /usr/local/etc/holonet');

    const subr = idx(/^\. \/etc\/rc\.subr$/);
    const name = idx(/^name=/);
    const load = idx(/^load_rc_config "?\$name"?$/);
    const firstDefault = idx(/^: \$\{/);
    t.ok(subr >= 0 && subr < name, '. /etc/rc.subr comes before name=');
    t.ok(load > name && load > idx(/^rcvar=/), 'load_rc_config after name= and rcvar=');
    t.ok(load < firstDefault, 'load_rc_config before the defaults, so rc.conf values win');
    t.equal(lines.filter((l) => l.trim() !== '').pop(), 'run_rc_command "$1"', 'ends with run_rc_command "$1"');
  });
}

void t.test('run against an rc.subr stand-in: the daemon(8) command matches the installed layout', async (t) => {
  const { dir, remove } = makeTempDir('holonet-rcd-');
  t.teardown(remove);
  const root = join(dir, 'root');
  const inst = runInstall(['--root', root, '--os', 'freebsd', '--bastille-release', '14.2-RELEASE']);
  t.equal(inst.status, 0, `FreeBSD-layout install exits 0\n${inst.stderr}`);
  const L = LAYOUTS.freebsd;

  for (const svc of SERVICES) {
    const v = runScript(dir, svc, '');
    t.equal(v.get('loaded_rc_config'), svc, `${svc}: load_rc_config got its name`);
    t.equal(v.get('enabled'), 'no', `${svc}: not enabled by default`);
    t.equal(v.get('command'), '/usr/sbin/daemon', `${svc}: supervised by daemon(8)`);
    t.equal(v.get('procname'), '/usr/sbin/daemon', `${svc}: procname is the supervisor (see the script's comment)`);
    const pidfile = `/var/run/holonet/${svc}.pid`;
    t.equal(v.get('pidfile'), pidfile, `${svc}: pidfile in /var/run/holonet`);
    t.equal(v.get('function:' + (v.get('start_precmd') ?? '')), 'yes', `${svc}: start_precmd is defined`);
    t.equal(v.get('function:' + (v.get('checkconfig_cmd') ?? '')), 'yes', `${svc}: checkconfig is defined`);
    t.equal(v.get('extra_commands'), 'checkconfig', `${svc}: service ${svc} checkconfig`);
    t.equal(v.get(`${svc}_env`), 'NODE_ENV=production', `${svc}: NODE_ENV=production`);

    const args = (v.get('command_args') ?? '').split(/\s+/);
    const after = (flag: string): string | undefined => {
      const i = args.indexOf(flag);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const config = `${L.etc}/${ENTRY[svc]}.json`;
    const main = `${L.code}/dist/${ENTRY[svc]}/main.js`;
    t.equal(after('-P'), pidfile, `${svc}: -P writes the supervisor pid where rc.subr looks`);
    t.equal(after('-p'), `/var/run/holonet/${svc}.child.pid`, `${svc}: -p keeps the node pid`);
    t.ok(args.includes('-r'), `${svc}: -r restarts a crashed daemon`);
    t.equal(after('-o'), `/var/log/holonet/${svc}.log`, `${svc}: -o logs to /var/log/holonet`);
    t.ok(args.includes('-H'), `${svc}: -H reopens the log for newsyslog`);
    t.same(args.slice(-4), ['/usr/local/bin/node', main, '--config', config], `${svc}: runs node main.js --config`);
    t.same(v.get('required_files'), config, `${svc}: refuses to start without its config`);
    t.equal(v.get(`${svc}_chdir`), `${L.data}/${ENTRY[svc]}`, `${svc}: runs in its data dir`);
    t.equal(v.get('required_dirs'), `${L.data}/${ENTRY[svc]}`, `${svc}: which must exist`);
    t.equal(svc === 'holon_orchestrator' ? after('-u') : undefined, svc === 'holon_orchestrator' ? 'holonet' : undefined,
      `${svc}: ${svc === 'holon_orchestrator' ? 'drops to holonet' : 'stays root'}`);

    // what the script refers to is what install.sh laid down
    t.ok(existsSync(join(root, config)), `${svc}: installed ${config} exists`);
    t.ok(statSync(join(root, `${L.data}/${ENTRY[svc]}`)).isDirectory(), `${svc}: installed data dir exists`);
    t.ok(existsSync(join(root, '/var/log/holonet')), `${svc}: installed log dir exists`);
    t.ok(existsSync(join(root, '/usr/local/etc/rc.d', svc)), `${svc}: installed as /usr/local/etc/rc.d/${svc}`);
    const newsyslog = readFileSync(join(root, `/usr/local/etc/newsyslog.conf.d/${svc}.conf`), 'utf8');
    t.match(newsyslog, new RegExp(`^/var/log/holonet/${svc}\\.log\\s.*\\s${pidfile.replace(/\./g, '\\.')}\\s+1$`, 'm'),
      `${svc}: newsyslog rotates its log and HUPs the supervisor`);
    if (existsSync(join(REPO, 'dist', ENTRY[svc], 'main.js'))) {
      t.ok(existsSync(join(root, main)), `${svc}: installed ${main} exists`);
    }

    // rc.conf overrides win over the defaults
    const o = runScript(dir, svc, `${svc}_enable="YES"\n${svc}_config="/srv/h.json"\n${svc}_node="/opt/node20/bin/node"\n`);
    t.equal(o.get('enabled'), 'yes', `${svc}: rc.conf enables it`);
    t.match(o.get('command_args') ?? '', / \/opt\/node20\/bin\/node \S+ --config \/srv\/h\.json$/, `${svc}: rc.conf node and config are used`);
    t.equal(o.get('required_files'), '/srv/h.json', `${svc}: and required_files follows the config`);
  }
});

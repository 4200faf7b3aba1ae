#!/bin/sh
# Holonet installer — POSIX sh, Linux (systemd) and FreeBSD (rc.d).
#
# Installs the built code (dist/, package.json, package-lock.json, production
# node_modules), creates the directories with their modes, writes a default
# configuration ONLY where none exists, installs the service files, creates the
# unprivileged `holonet` user, and prints the next steps. Run it again to
# upgrade: only the code is replaced; configuration and data are never touched.
# The layout and the daemons' contract are in docs/deploy.md.
#
# Usage: deploy/install.sh [--root DIR] [--os linux|freebsd]
#                          [--component agent|orchestrator|all] [--npm-ci]
#                          [--node PATH] [--principal-root hkey1…]
#                          [--bastille-release R] [--source DIR]
# Exit status: 0 done; 1 a step failed; 2 usage error; 3 a precondition is not
# met (code not built, not root, wrong host OS).
set -eu

PROG=install.sh
say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { code=$1; shift; printf '%s: error: %s\n' "$PROG" "$*" >&2; exit "$code"; }

usage() {
	cat <<'USAGE'
Usage: deploy/install.sh [options]

  --root DIR          install below DIR instead of / (a staging root: no user is
                      created and nothing is chowned; what would be done is printed)
  --os linux|freebsd  target layout (default: this host's, from uname)
  --component C       agent, orchestrator or all (default: all)
  --npm-ci            install node_modules with `npm ci --omit=dev` in the target
                      instead of copying the production packages from the source
  --node PATH         Node.js binary the services run (default: /usr/bin/node on
                      Linux, /usr/local/bin/node on FreeBSD)
  --principal-root ID pin the principal's root key (hkey1…) in NEW agent and
                      orchestrator configs
  --bastille-release R  FreeBSD agent: the release its units are created from,
                      e.g. 14.2-RELEASE (default on a FreeBSD host: its own,
                      from freebsd-version -u; a staging root needs it given)
  --source DIR        built checkout to install from (default: this script's repo)
  -h, --help          this text

Exit status: 0 done, 1 a step failed, 2 usage error, 3 precondition not met.
USAGE
}

# --- arguments ---------------------------------------------------------------
ROOT=/
OS=
COMPONENT=all
NPM_CI=no
NODE_BIN=
PRINCIPAL_ROOT=
BASTILLE_RELEASE=
SOURCE=

need_arg() { [ "$#" -ge 2 ] && [ -n "$2" ] || die 2 "$1 needs a value (see --help)"; }
while [ "$#" -gt 0 ]; do
	case "$1" in
	--root) need_arg "$@"; ROOT=$2; shift 2 ;;
	--root=*) ROOT=${1#*=}; shift ;;
	--os) need_arg "$@"; OS=$2; shift 2 ;;
	--os=*) OS=${1#*=}; shift ;;
	--component) need_arg "$@"; COMPONENT=$2; shift 2 ;;
	--component=*) COMPONENT=${1#*=}; shift ;;
	--npm-ci) NPM_CI=yes; shift ;;
	--node) need_arg "$@"; NODE_BIN=$2; shift 2 ;;
	--node=*) NODE_BIN=${1#*=}; shift ;;
	--principal-root) need_arg "$@"; PRINCIPAL_ROOT=$2; shift 2 ;;
	--principal-root=*) PRINCIPAL_ROOT=${1#*=}; shift ;;
	--bastille-release) need_arg "$@"; BASTILLE_RELEASE=$2; shift 2 ;;
	--bastille-release=*) BASTILLE_RELEASE=${1#*=}; shift ;;
	--source) need_arg "$@"; SOURCE=$2; shift 2 ;;
	--source=*) SOURCE=${1#*=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die 2 "unknown argument: $1" ;;
	esac
done

HOST_OS=$(uname -s)
case "$HOST_OS" in
Linux) HOST_OS=linux ;;
FreeBSD) HOST_OS=freebsd ;;
*) HOST_OS=other ;;
esac
[ -n "$OS" ] || OS=$HOST_OS
case "$OS" in
linux|freebsd) ;;
other) die 2 "this host ($(uname -s)) is neither Linux nor FreeBSD; pass --os linux|freebsd with --root" ;;
*) die 2 "--os must be linux or freebsd, not '$OS'" ;;
esac
case "$COMPONENT" in
agent) WITH_AGENT=yes; WITH_ORCH=no ;;
orchestrator) WITH_AGENT=no; WITH_ORCH=yes ;;
all) WITH_AGENT=yes; WITH_ORCH=yes ;;
*) die 2 "--component must be agent, orchestrator or all, not '$COMPONENT'" ;;
esac
if [ -n "$PRINCIPAL_ROOT" ]; then
	# bech32m "hkey" + 32-byte key: 5 + 58 characters; the agent checks the checksum.
	printf '%s\n' "$PRINCIPAL_ROOT" | grep -Eq '^hkey1[02-9ac-hj-np-z]{58}$' ||
		die 2 "--principal-root must be a principal key id (hkey1 followed by 58 bech32 characters)"
fi

case "$ROOT" in
/*) ;;
*) die 2 "--root must be an absolute path, not '$ROOT'" ;;
esac
# R prefixes every target path; empty for a real install.
R=${ROOT%/}
while [ "${R%/}" != "$R" ]; do R=${R%/}; done
if [ -z "$R" ]; then
	REAL=yes
	[ "$OS" = "$HOST_OS" ] || die 3 "--os $OS on a $HOST_OS host installs only into a staging root (--root DIR)"
	[ "$(id -u)" -eq 0 ] || die 3 "installing into / needs root (or use --root DIR to stage)"
else
	REAL=no
	[ -d "$R" ] || mkdir -p "$R" || die 1 "cannot create staging root $R"
fi

if [ -z "$SOURCE" ]; then
	SOURCE=$(cd "$(dirname "$0")/.." && pwd)
fi
[ -d "$SOURCE" ] || die 3 "source $SOURCE is not a directory"
SOURCE=$(cd "$SOURCE" && pwd)
for f in package.json package-lock.json; do
	[ -f "$SOURCE/$f" ] || die 3 "$SOURCE/$f is missing (is --source a Holonet checkout?)"
done
[ -d "$SOURCE/dist" ] || die 3 "$SOURCE/dist is missing: build first (npm ci && npm run build)"
if [ "$NPM_CI" = no ] && [ ! -d "$SOURCE/node_modules" ]; then
	die 3 "$SOURCE/node_modules is missing: run npm ci in the source, or pass --npm-ci"
fi
command -v node >/dev/null 2>&1 || die 3 "node is needed to read package-lock.json and was not found in PATH"

# --- layout ------------------------------------------------------------------
if [ "$OS" = linux ]; then
	CODE=/opt/holonet
	ETC=/etc/holonet
	DATA=/var/lib/holonet
	BIN=/usr/local/bin
	UNIT_DIR=/etc/systemd/system
	ROOT_GROUP=root
	NOLOGIN=/usr/sbin/nologin
	: "${NODE_BIN:=/usr/bin/node}"
	ISOLATION=linux
else
	CODE=/usr/local/libexec/holonet
	ETC=/usr/local/etc/holonet
	DATA=/var/db/holonet
	BIN=/usr/local/bin
	RCD_DIR=/usr/local/etc/rc.d
	NEWSYSLOG_DIR=/usr/local/etc/newsyslog.conf.d
	LOG_DIR=/var/log/holonet
	RUN_DIR=/var/run/holonet
	ROOT_GROUP=wheel
	NOLOGIN=/usr/sbin/nologin
	: "${NODE_BIN:=/usr/local/bin/node}"
	ISOLATION=bastille
fi
case "$NODE_BIN" in
/*) ;;
*) die 2 "--node must be an absolute path, not '$NODE_BIN'" ;;
esac
SVC_USER=holonet
SVC_GROUP=holonet

# The FreeBSD agent creates its units from one Bastille release (agent.json
# "bastille.release", checked with the agent's own pattern): by default the
# host's userland release without its patch level. Needed only to write a
# new agent.json: an upgrade keeps the existing one.
if [ "$OS" = freebsd ] && [ "$WITH_AGENT" = yes ] && [ -z "$BASTILLE_RELEASE" ] &&
	[ ! -e "$R$ETC/agent.json" ] && [ ! -L "$R$ETC/agent.json" ]; then
	if [ "$REAL" = yes ] && command -v freebsd-version >/dev/null 2>&1; then
		BASTILLE_RELEASE=$(freebsd-version -u | sed 's/-p[0-9]*$//')
	else
		die 2 "a FreeBSD agent needs --bastille-release (e.g. 14.2-RELEASE): the release its units are created from"
	fi
fi
if [ -n "$BASTILLE_RELEASE" ]; then
	printf '%s\n' "$BASTILLE_RELEASE" | grep -Eq '^[0-9]+\.[0-9]+-[A-Z0-9-]+$' ||
		die 2 "--bastille-release must be a release like 14.2-RELEASE, not '$BASTILLE_RELEASE'"
fi

# --- helpers -----------------------------------------------------------------
# Ownership is applied only on a real install; a staging root gets a note
# instead (its files belong to whoever stages them; the package step chowns).
CHOWN_NOTES=
own() { # own USER:GROUP PATH
	if [ "$REAL" = yes ]; then
		chown "$1" "$2" || die 1 "chown $1 $2 failed"
	else
		CHOWN_NOTES="${CHOWN_NOTES}    chown $1 $2
"
	fi
}

# make_dir PATH MODE OWNER: create if absent; mode and owner are enforced on
# every run (they are the security boundary), contents are never touched.
make_dir() {
	if [ ! -d "$R$1" ]; then
		mkdir -p "$R$1" || die 1 "cannot create $R$1"
		say "created $1"
	fi
	chmod "$2" "$R$1" || die 1 "chmod $2 $R$1 failed"
	own "$3" "$1"
}

# put_file SRC DEST MODE: install a file we own (service files), replacing it
# only when its content differs, so an unchanged re-run leaves it untouched.
put_file() {
	if [ -f "$R$2" ] && cmp -s "$1" "$R$2"; then
		chmod "$3" "$R$2"
		return 0
	fi
	mkdir -p "$(dirname "$R$2")"
	cp "$1" "$R$2.tmp.$$" && chmod "$3" "$R$2.tmp.$$" && mv -f "$R$2.tmp.$$" "$R$2" ||
		die 1 "cannot install $2"
	own "0:0" "$2"
	say "installed $2"
	CHANGED_SERVICES=yes
}

# put_link TARGET LINK: symlink, replaced only if it points elsewhere.
put_link() {
	if [ -L "$R$2" ] && [ "$(readlink "$R$2")" = "$1" ]; then return 0; fi
	mkdir -p "$(dirname "$R$2")"
	ln -sfn "$1" "$R$2" || die 1 "cannot link $2 -> $1"
	say "linked $2 -> $1"
}

TMPDIR_INSTALL=$(mktemp -d "${TMPDIR:-/tmp}/holonet-install.XXXXXX") || die 1 "mktemp failed"
STAGE=
cleanup() {
	rm -rf "$TMPDIR_INSTALL"
	if [ -n "$STAGE" ]; then rm -rf "$STAGE"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# --- 1. the holonet user -------------------------------------------------------
if [ "$OS" = linux ]; then
	GROUPADD="groupadd --system $SVC_GROUP"
	USERADD="useradd --system --gid $SVC_GROUP --home-dir $DATA --no-create-home --shell $NOLOGIN --comment 'Holonet orchestrator' $SVC_USER"
else
	GROUPADD="pw groupadd $SVC_GROUP"
	USERADD="pw useradd $SVC_USER -g $SVC_GROUP -d $DATA -s $NOLOGIN -c 'Holonet orchestrator' -h -"
fi
if [ "$REAL" = yes ]; then
	if [ "$OS" = linux ]; then
		getent group "$SVC_GROUP" >/dev/null 2>&1 || { eval "$GROUPADD" || die 1 "$GROUPADD failed"; say "created group $SVC_GROUP"; }
	else
		pw groupshow "$SVC_GROUP" >/dev/null 2>&1 || { eval "$GROUPADD" || die 1 "$GROUPADD failed"; say "created group $SVC_GROUP"; }
	fi
	id "$SVC_USER" >/dev/null 2>&1 || { eval "$USERADD" || die 1 "$USERADD failed"; say "created user $SVC_USER"; }
else
	say "staging root $R: not creating the $SVC_USER user; on the target this runs:"
	say "    $GROUPADD"
	say "    $USERADD"
fi

# --- 2. directories ------------------------------------------------------------
# Config: root writes, the holonet group (the orchestrator) reads.
make_dir "$ETC" 0750 "0:$SVC_GROUP"
make_dir "$DATA" 0755 "0:0"
[ "$WITH_AGENT" = yes ] && make_dir "$DATA/agent" 0700 "0:0"
[ "$WITH_ORCH" = yes ] && make_dir "$DATA/orchestrator" 0700 "$SVC_USER:$SVC_GROUP"
if [ "$OS" = freebsd ]; then
	make_dir "$LOG_DIR" 0750 "0:0"
	make_dir "$RUN_DIR" 0755 "0:0"
fi

# --- 3. code ---------------------------------------------------------------------
# Built in a sibling directory, then swapped in, so the old tree stays whole
# until the new one is complete. Restart the services afterwards.
STAGE="$R$CODE.new.$$"
mkdir -p "$STAGE/dist" "$STAGE/docs" || die 1 "cannot create $STAGE"
for d in "$SOURCE"/dist/*; do
	[ -e "$d" ] || continue
	case "${d##*/}" in
	test|bench) continue ;; # not shipped: tests and benchmarks
	esac
	cp -R "$d" "$STAGE/dist/" || die 1 "copying $d failed"
done
cp "$SOURCE/package.json" "$SOURCE/package-lock.json" "$STAGE/" || die 1 "copying package files failed"
[ -f "$SOURCE/docs/deploy.md" ] && cp "$SOURCE/docs/deploy.md" "$STAGE/docs/"
if [ "$NPM_CI" = yes ]; then
	command -v npm >/dev/null 2>&1 || die 3 "--npm-ci needs npm in PATH"
	say "running npm ci --omit=dev in $CODE (this needs the registry or a warm npm cache)"
	(cd "$STAGE" && npm ci --omit=dev --no-audit --no-fund --loglevel=error) || die 1 "npm ci --omit=dev failed in $STAGE"
else
	# Production packages = every lockfile entry not marked dev (v2/v3 lockfile).
	node -e '
		const lock = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		if (!lock.packages) { console.error("package-lock.json has no \"packages\" (lockfileVersion >= 2 needed)"); process.exit(1); }
		for (const [path, meta] of Object.entries(lock.packages)) {
			if (!path.startsWith("node_modules/") || meta.dev === true || meta.link === true) continue;
			// nested entries are copied with their top-level package
			if (path.indexOf("/node_modules/", "node_modules/".length) !== -1) continue;
			console.log(path);
		}' "$SOURCE/package-lock.json" >"$TMPDIR_INSTALL/packages" || die 1 "cannot read $SOURCE/package-lock.json"
	while IFS= read -r pkg; do
		if [ ! -d "$SOURCE/$pkg" ]; then
			# optional packages for another platform are legitimately absent
			if node -e 'const l=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.exit(l.packages[process.argv[2]].optional?0:1)' \
				"$SOURCE/package-lock.json" "$pkg"; then continue; fi
			die 3 "$SOURCE/$pkg is missing: run npm ci in the source"
		fi
		mkdir -p "$STAGE/$(dirname "$pkg")"
		cp -R "$SOURCE/$pkg" "$STAGE/$pkg" || die 1 "copying $pkg failed"
	done <"$TMPDIR_INSTALL/packages"
fi
chmod -R u+rwX,go+rX,go-w "$STAGE" || die 1 "chmod of $STAGE failed"
for entry in agent orchestrator cli; do
	[ -f "$STAGE/dist/$entry/main.js" ] && chmod 0755 "$STAGE/dist/$entry/main.js"
done
if [ "$REAL" = yes ]; then
	chown -R 0:0 "$STAGE" || die 1 "chown of $STAGE failed"
else
	CHOWN_NOTES="${CHOWN_NOTES}    chown -R 0:0 $CODE
"
fi
if [ -d "$R$CODE" ]; then
	rm -rf "$R$CODE.old"
	mv "$R$CODE" "$R$CODE.old" || die 1 "cannot move the old $CODE aside"
	mv "$STAGE" "$R$CODE" || { mv "$R$CODE.old" "$R$CODE"; die 1 "cannot move the new code into $CODE"; }
	rm -rf "$R$CODE.old"
	say "replaced code in $CODE"
else
	mkdir -p "$(dirname "$R$CODE")"
	mv "$STAGE" "$R$CODE" || die 1 "cannot move the new code into $CODE"
	say "installed code in $CODE"
fi
STAGE=

# Commands on PATH. An entry point not built yet gets no link (a dangling link
# in $BIN would only confuse); the next run after it is built adds it.
link_entry() { # link_entry COMMAND DIR [SERVICE]
	main="$CODE/dist/$2/main.js"
	if [ ! -f "$R$main" ]; then
		warn "$main is not in this build: $1 not linked${3:+, and $3 will not start until it is}"
		return 0
	fi
	head -n 1 "$R$main" | grep -q '^#!' || warn "$main has no #! line: '$1' on PATH will not run (the services call node directly)"
	put_link "$main" "$BIN/$1"
}
link_entry holonctl cli
if [ "$OS" = linux ]; then AGENT_SVC=holon-agent ORCH_SVC=holon-orchestrator; else AGENT_SVC=holon_agent ORCH_SVC=holon_orchestrator; fi
[ "$WITH_AGENT" = yes ] && link_entry holon-agent agent "service $AGENT_SVC"
[ "$WITH_ORCH" = yes ] && link_entry holon-orchestrator orchestrator "service $ORCH_SVC"

# --- 4. default configuration (only where there is none) ------------------------
# write_config NAME MODE OWNER: the JSON comes on stdin.
write_config() {
	dest="$ETC/$1"
	if [ -e "$R$dest" ] || [ -L "$R$dest" ]; then
		cat >/dev/null
		say "kept existing $dest"
		KEPT_CONFIGS="$KEPT_CONFIGS $dest"
		return 0
	fi
	tmp="$R$dest.tmp.$$"
	(umask 077 && cat >"$tmp") || die 1 "cannot write $tmp"
	chmod "$2" "$tmp"
	mv "$tmp" "$R$dest" || die 1 "cannot write $dest"
	own "$3" "$dest"
	say "wrote default $dest"
}
KEPT_CONFIGS=
# Both daemons connect with NATS credentials that `holonctl init` makes (the
# bus runs in operator mode): the agent as the cell's bootstrap user (copy
# <orchestrator data dir>/nats/bootstrap.creds to $ETC/bootstrap.creds), the
# orchestrator as its three users, kept in its data dir (relative paths).
ISOLATION_LINES="\"isolation\": \"$ISOLATION\","
[ "$OS" = freebsd ] && ISOLATION_LINES="$ISOLATION_LINES
  \"bastille\": { \"release\": \"$BASTILLE_RELEASE\" },"
if [ "$WITH_AGENT" = yes ]; then
	write_config agent.json 0600 "0:0" <<EOF
{
  "data_dir": "$DATA/agent",
  "nats": { "servers": ["nats://127.0.0.1:4222"], "bootstrap_creds": "$ETC/bootstrap.creds" },
  "log_level": "info",
  $ISOLATION_LINES
  "principal_root": "$PRINCIPAL_ROOT"
}
EOF
	if [ -n "$PRINCIPAL_ROOT" ] && ! grep -q "\"$PRINCIPAL_ROOT\"" "$R$ETC/agent.json" 2>/dev/null; then
		warn "$ETC/agent.json already existed and does not pin $PRINCIPAL_ROOT; it was NOT changed"
	fi
fi
if [ "$WITH_ORCH" = yes ]; then
	PRINCIPAL_KEY_LINE=
	[ -z "$PRINCIPAL_ROOT" ] || PRINCIPAL_KEY_LINE="
  \"principal_key\": \"$PRINCIPAL_ROOT\","
	write_config orchestrator.json 0640 "0:$SVC_GROUP" <<EOF
{
  "data_dir": "$DATA/orchestrator",
  "nats": {
    "servers": ["nats://127.0.0.1:4222"],
    "creds": "nats/orchestrator-serve.creds",
    "writer_creds": "nats/orchestrator-writer.creds",
    "admin_creds": "nats/orchestrator-admin.creds"
  },$PRINCIPAL_KEY_LINE
  "log_level": "info"
}
EOF
fi
for c in $KEPT_CONFIGS; do
	# never changed, but say so if anyone may read a config the daemons trust
	perm=$(ls -ld "$R$c" | cut -c8-10)
	[ "$perm" = "---" ] || warn "$c is readable by others ($(ls -ld "$R$c" | cut -c1-10)); chmod o-rwx it"
done

# --- 5. service files ------------------------------------------------------------
CHANGED_SERVICES=no
if [ "$OS" = linux ]; then
	for unit in holon-agent holon-orchestrator; do
		[ "$unit" = holon-agent ] && [ "$WITH_AGENT" = no ] && continue
		[ "$unit" = holon-orchestrator ] && [ "$WITH_ORCH" = no ] && continue
		src="$SOURCE/deploy/systemd/$unit.service"
		[ -f "$src" ] || die 3 "$src is missing"
		# The only per-host value: where node lives.
		sed "s#^ExecStart=/usr/bin/node #ExecStart=$NODE_BIN #" "$src" >"$TMPDIR_INSTALL/$unit.service"
		put_file "$TMPDIR_INSTALL/$unit.service" "$UNIT_DIR/$unit.service" 0644
	done
	if [ "$REAL" = yes ] && [ "$CHANGED_SERVICES" = yes ] && [ -d /run/systemd/system ]; then
		systemctl daemon-reload || warn "systemctl daemon-reload failed"
	fi
else
	for svc in holon_agent holon_orchestrator; do
		[ "$svc" = holon_agent ] && [ "$WITH_AGENT" = no ] && continue
		[ "$svc" = holon_orchestrator ] && [ "$WITH_ORCH" = no ] && continue
		[ -f "$SOURCE/deploy/freebsd/rc.d/$svc" ] || die 3 "$SOURCE/deploy/freebsd/rc.d/$svc is missing"
		put_file "$SOURCE/deploy/freebsd/rc.d/$svc" "$RCD_DIR/$svc" 0555
		put_file "$SOURCE/deploy/freebsd/newsyslog.conf.d/$svc.conf" "$NEWSYSLOG_DIR/$svc.conf" 0644
	done
fi

# --- 6. what next ------------------------------------------------------------------
if [ "$REAL" = no ] && [ -n "$CHOWN_NOTES" ]; then
	say "staging root: ownership to apply on the target (not applied here):"
	printf '%s' "$CHOWN_NOTES"
fi
[ -x "$NODE_BIN" ] || [ "$REAL" = no ] || warn "$NODE_BIN is not executable: install Node.js >= 20.19 or pass --node"
# better-sqlite3 is a native module, built for the Node ABI of whichever node
# ran npm ci: another major version (Node 24 services, modules from Node 20)
# cannot load it, and the orchestrator would fail at its database.
if [ -x "$NODE_BIN" ] && [ -d "$R$CODE/node_modules/better-sqlite3" ] &&
	! (cd "$R$CODE" && "$NODE_BIN" -e 'new (require("better-sqlite3"))(":memory:").close()') >/dev/null 2>"$TMPDIR_INSTALL/abi"; then
	set -- $(sed -n 's/.*NODE_MODULE_VERSION \([0-9]*\).*/\1/p' "$TMPDIR_INSTALL/abi")
	if [ "$#" -ge 2 ]; then why="built for Node ABI $1, this node has ABI $2"; else why=$(head -n 1 "$TMPDIR_INSTALL/abi"); fi
	warn "$NODE_BIN cannot load $CODE/node_modules/better-sqlite3 ($why): run install.sh again with --npm-ci under that node, or: cd $CODE && PATH=$(dirname "$NODE_BIN"):\$PATH npm rebuild better-sqlite3"
fi

say "done. Next steps:"
n=1
step() { printf '  %d. %s\n' "$n" "$*"; n=$((n + 1)); }
if [ "$WITH_AGENT" = yes ] && [ -z "$PRINCIPAL_ROOT" ]; then
	step "pin the principal's root key: set \"principal_root\" in $ETC/agent.json (the agent refuses to start, exit 78, until it is set)"
fi
if [ "$WITH_ORCH" = yes ]; then
	step "the cell's keys and NATS credentials, if not made yet: holonctl init --dir $DATA/orchestrator --cell-name <name> (the principal key goes to ~/.config/holonet), then chown -R $SVC_USER:$SVC_GROUP $DATA/orchestrator"
fi
[ "$WITH_AGENT" = yes ] && step "copy the cell's nats/bootstrap.creds (holonctl init made it in the orchestrator's data dir) to $ETC/bootstrap.creds, mode 0600"
step "review $ETC/*.json (nats.servers: your JetStream cluster; deploy/nats/ has server configs)"
if [ "$OS" = linux ]; then
	[ "$WITH_ORCH" = yes ] && step "check: $NODE_BIN $CODE/dist/orchestrator/main.js --config $ETC/orchestrator.json --check-config"
	[ "$WITH_AGENT" = yes ] && step "check: $NODE_BIN $CODE/dist/agent/main.js --config $ETC/agent.json --check-config"
	units=
	[ "$WITH_ORCH" = yes ] && units="$units holon-orchestrator"
	[ "$WITH_AGENT" = yes ] && units="$units holon-agent"
	step "systemctl daemon-reload && systemctl enable --now$units"
	step "after an upgrade: systemctl restart$units (the agent's units keep running)"
	step "logs: journalctl -u holon-agent -u holon-orchestrator -o cat | pino-pretty"
else
	[ "$NODE_BIN" = /usr/local/bin/node ] || step "sysrc holon_agent_node=$NODE_BIN holon_orchestrator_node=$NODE_BIN"
	[ "$WITH_ORCH" = yes ] && step "sysrc holon_orchestrator_enable=YES && service holon_orchestrator checkconfig && service holon_orchestrator start"
	[ "$WITH_AGENT" = yes ] && step "sysrc holon_agent_enable=YES && service holon_agent checkconfig && service holon_agent start"
	step "logs: $LOG_DIR/<service>.log (JSON lines; rotated by newsyslog)"
fi
exit 0

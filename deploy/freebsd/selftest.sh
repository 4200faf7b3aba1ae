#!/bin/sh
#
# selftest.sh — run once, as root, on a FreeBSD 14 host with Bastille 1.4 to
# check the Holonet Bastille adapter against the real tools, and send the
# report back. It creates one throw-away unit (u-selftest<6 hex>) through the
# adapter, applies its rctl limits, runs a command in it, writes into it,
# meters it, freezes and thaws it, kills its processes behind the adapter's
# back, kills it, creates it again and destroys it; after each step that must
# leave nothing it reads the host directly (jls, mount -p, ifconfig -l,
# rctl, zfs, the jail directory). The checks and their expected results are
# the ones the adapter's tests get from the simulator
# (test/adapters/isolation/bastille/selftest.test.ts); docs/adapters/bastille.md
# lists them.
#
# It touches nothing but its own unit: other jails, rctl rules and datasets
# are left alone (the adapter refuses any jail it has no record of).
#
# Usage: deploy/freebsd/selftest.sh --release 14.2-RELEASE [options]
#   --release R       a bootstrapped release (bastille bootstrap R)
#   --interface IF    physical interface for a VNET (egress) unit; without it
#                     the unit has no network (network=none)
#   --gateway IP      default router of the VNET unit (bastille create -g)
#   --ip-range CIDR   range the unit's address comes from (default 10.17.89.0/24)
#   --prefix DIR      bastille_prefix (default /usr/local/bastille)
#   --holonet DIR     the built Holonet code (default: this checkout if built,
#                     else /usr/local/libexec/holonet)
#   --node PATH       Node.js >= 20.19 (default: node on PATH)
#   --report FILE     where to keep the report (default /var/tmp/holonet-bastille-selftest-<time>.txt)
#
# Exit status: 0 every check passed; 1 a check failed; 2 usage; 3 this host
# cannot run it (not FreeBSD, not root, a tool or the built code missing).

set -u

PROG=deploy/freebsd/selftest.sh
RELEASE=
INTERFACE=
GATEWAY=
IP_RANGE=10.17.89.0/24
PREFIX=/usr/local/bastille
HOLONET=
NODE=node
REPORT=

die() {
	code=$1
	shift
	echo "selftest.sh: $*" >&2
	exit "$code"
}

usage() {
	sed -n 's/^# \{0,1\}//; /^Usage:/,/^$/p' "$0"
}

while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--release | --interface | --gateway | --ip-range | --prefix | --holonet | --node | --report)
		[ $# -ge 2 ] || die 2 "$1 needs a value (see $PROG --help)"
		case "$1" in
		--release) RELEASE=$2 ;;
		--interface) INTERFACE=$2 ;;
		--gateway) GATEWAY=$2 ;;
		--ip-range) IP_RANGE=$2 ;;
		--prefix) PREFIX=$2 ;;
		--holonet) HOLONET=$2 ;;
		--node) NODE=$2 ;;
		--report) REPORT=$2 ;;
		esac
		shift 2
		;;
	*) die 2 "unknown argument: $1 (see $PROG --help)" ;;
	esac
done

OS=$(uname -s)
[ "$OS" = FreeBSD ] || die 3 "this is $OS, not FreeBSD: the self-test only means something on a FreeBSD 14 host with Bastille 1.4"
[ "$(id -u)" -eq 0 ] || die 3 "run it as root (jail(8), rctl(8), mount(8))"
[ -n "$RELEASE" ] || die 2 "--release is required (see $PROG --help)"
printf '%s\n' "$RELEASE" | grep -Eq '^[0-9]{1,2}\.[0-9]-(RELEASE|RC[1-9]|BETA[1-9]|STABLE|CURRENT)$' || die 2 "--release $RELEASE is not a release name like 14.2-RELEASE"
for v in "$INTERFACE" "$GATEWAY" "$IP_RANGE" "$PREFIX"; do
	case "$v" in *[!A-Za-z0-9./_-]*) die 2 "unexpected characters in $v" ;; esac
done
for tool in bastille jls jexec rctl pkill pgrep ps mount umount ifconfig netstat "$NODE"; do
	command -v "$tool" >/dev/null 2>&1 || die 3 "$tool is not installed or not on PATH"
done
[ "$(sysctl -n kern.racct.enable 2>/dev/null)" = 1 ] || die 3 "kern.racct.enable is not 1: add kern.racct.enable=1 to /boot/loader.conf and reboot"

if [ -z "$HOLONET" ]; then
	here=$(cd "$(dirname "$0")/../.." && pwd)
	if [ -f "$here/dist/adapters/isolation/bastille/index.js" ]; then HOLONET=$here; else HOLONET=/usr/local/libexec/holonet; fi
fi
MODULE=$HOLONET/dist/adapters/isolation/bastille/index.js
[ -f "$MODULE" ] || die 3 "$MODULE not found: build Holonet (npm run build) or give --holonet"
[ -n "$REPORT" ] || REPORT=/var/tmp/holonet-bastille-selftest-$(date +%Y%m%d%H%M%S).txt

network=none
opts="\"release\":\"$RELEASE\",\"bastillePrefix\":\"$PREFIX\",\"ipRange\":\"$IP_RANGE\""
if [ -n "$INTERFACE" ]; then
	network=egress
	opts="$opts,\"interface\":\"$INTERFACE\""
fi
[ -z "$GATEWAY" ] || opts="$opts,\"gateway\":\"$GATEWAY\""

{
	echo "# Holonet Bastille adapter self-test, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# host: $(uname -srm); $(freebsd-version -ku 2>/dev/null | tr '\n' ' ')"
	echo "# bastille: $(bastille --version 2>&1 | tail -n 1); node: $("$NODE" --version)"
	echo "# bastille.conf: $(grep -E '^bastille_(zfs_enable|zfs_zpool|zfs_prefix|network_vnet_type)=' /usr/local/etc/bastille/bastille.conf 2>/dev/null | tr '\n' ' ')"
	echo "# options: {$opts}, network $network"
} | tee "$REPORT"

HOLONET_SELFTEST_MODULE=$MODULE HOLONET_SELFTEST_OPTIONS="{\"adapter\":{$opts},\"network\":\"$network\"}" "$NODE" --input-type=module -e '
const { runSelftest } = await import(process.env.HOLONET_SELFTEST_MODULE);
const report = await runSelftest(JSON.parse(process.env.HOLONET_SELFTEST_OPTIONS));
for (const line of report.lines) console.log(line);
console.log(`# ${report.passed} passed, ${report.failed} failed (unit ${report.unit}, jail ${report.jail})`);
process.exitCode = report.failed === 0 ? 0 : 1;
' | tee -a "$REPORT"
# The pipeline's status is tee's; the summary line says how the checks went.
grep -q '^# [0-9]* passed, 0 failed' "$REPORT" && status=0 || status=1
echo "selftest.sh: report kept in $REPORT; please send it back with the issue it is for." >&2
exit "$status"

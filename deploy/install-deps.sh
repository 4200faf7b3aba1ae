#!/usr/bin/env bash
# Installs, only when missing, what Holonet and its tests need on Debian 12:
# a software TPM and its tools, iproute2, Debian's nats-server (2.9, kept for
# the compatibility test), and — with Go — a current nats-server and the nats
# CLI built from source. As root it installs the packages; otherwise it prints
# the exact command and fails.
#
# nats-server: Debian 12 ships 2.9.10, which fsyncs JetStream only every 60 s
# and refuses `sync_interval` (deploy/nats/nats-server-cluster.conf). When the
# nats-server on PATH is missing or older than 2.10 and `go` exists, this
# builds nats-server 2.15.3 and the nats CLI (natscli 0.5.0) with `go install`
# into TOOLS_BIN:
#   as root:     /usr/local/bin   (before /usr/sbin in Debian's PATH, so it wins)
#   otherwise:   <repo>/.tools/bin (the test harness looks there too; add it to
#                PATH for `holonctl up` and your shell — the script prints how)
# Idempotent: nothing is built when `nats-server --version` / `nats --version`
# already report what is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

NATS_SERVER_VERSION=2.15.3
NATSCLI_VERSION=0.5.0
PACKAGES=(nats-server swtpm swtpm-tools tpm2-tools iproute2)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "install-deps: missing system packages: ${missing[*]}" >&2
    echo "install-deps: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# --- nats-server >= 2.10 and the nats CLI -----------------------------------

if [ "$(id -u)" -eq 0 ]; then
  TOOLS_BIN=/usr/local/bin
else
  TOOLS_BIN="$PWD/.tools/bin"
fi

# The first x.y.z in what `$1 --version` prints ("nats-server: v2.9.10", "v0.5.0"); empty if none.
version_of() {
  { "$1" --version 2>&1 || true; } | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true
}
# version_ge A B: A >= B (dotted versions).
version_ge() {
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]
}
# The newest of the named binaries that exist and report a version: "version path", or nothing.
newest_of() {
  local best='' best_path='' p v
  for p in "$@"; do
    [ -n "$p" ] && [ -x "$p" ] || continue
    v=$(version_of "$p")
    [ -n "$v" ] || continue
    if [ -z "$best" ] || ! version_ge "$best" "$v"; then best=$v best_path=$p; fi
  done
  [ -z "$best" ] || echo "$best $best_path"
}

GO=$(command -v go || true)
if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; fi

# go install MODULE@VERSION into TOOLS_BIN; static binary, as the NATS releases are.
go_install() {
  mkdir -p "$TOOLS_BIN"
  echo "install-deps: building $1 with $("$GO" version | awk '{print $3}') into $TOOLS_BIN (a few minutes the first time)" >&2
  local start=$SECONDS
  GOBIN="$TOOLS_BIN" CGO_ENABLED=0 "$GO" install "$1"
  echo "install-deps: built $1 in $((SECONDS - start)) s" >&2
}

server=$(newest_of "$(command -v nats-server || true)" "$TOOLS_BIN/nats-server")
if [ -z "$server" ] || ! version_ge "${server%% *}" 2.10.0; then
  if [ -n "$GO" ]; then
    go_install "github.com/nats-io/nats-server/v2@v${NATS_SERVER_VERSION}"
    server=$(newest_of "$TOOLS_BIN/nats-server")
    if [ "${server%% *}" != "$NATS_SERVER_VERSION" ]; then
      echo "install-deps: $TOOLS_BIN/nats-server reports '${server%% *}', expected $NATS_SERVER_VERSION" >&2
      exit 1
    fi
  fi
fi

cli=$(newest_of "$(command -v nats || true)" "$TOOLS_BIN/nats")
if [ -z "$cli" ] || ! version_ge "${cli%% *}" "$NATSCLI_VERSION"; then
  if [ -n "$GO" ]; then
    go_install "github.com/nats-io/natscli/nats@v${NATSCLI_VERSION}"
    cli=$(newest_of "$TOOLS_BIN/nats")
  else
    echo "install-deps: no Go: the nats CLI is not installed (optional; with Go: GOBIN=$TOOLS_BIN go install github.com/nats-io/natscli/nats@v${NATSCLI_VERSION})" >&2
  fi
fi
[ -z "$cli" ] || echo "install-deps: nats CLI ${cli%% *} at ${cli#* }" >&2

if [ -z "$server" ]; then
  # Unreachable after a successful apt install; kept for a broken package.
  echo "install-deps: no nats-server found and no Go to build one: run as root  apt-get install -y nats-server" >&2
  exit 1
fi
server_version=${server%% *}
server_path=${server#* }
if version_ge "$server_version" 2.10.0; then
  echo "install-deps: nats-server $server_version at $server_path" >&2
else
  echo "install-deps: WARNING: nats-server $server_version at $server_path is older than 2.10 and there is no Go to build $NATS_SERVER_VERSION." >&2
  echo "install-deps:   It fsyncs JetStream only every 60 s (acknowledged writes can be lost on power failure)," >&2
  echo "install-deps:   refuses 'sync_interval', so it cannot run deploy/nats/nats-server-cluster.conf, and was seen" >&2
  echo "install-deps:   answering a last_by_subj lookup with 'no message' after a restart. Install Go (>= 1.26) and rerun." >&2
fi
resolved=$(command -v nats-server || true)
if [ "$resolved" != "$server_path" ]; then
  echo "install-deps: 'nats-server' on your PATH is ${resolved:-nothing}, not $server_path; holonctl up takes the first on PATH:" >&2
  echo "install-deps:   export PATH=\"$(dirname "$server_path"):\$PATH\"   (or NATS_SERVER_BIN=$server_path)" >&2
fi

node_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "install-deps: Node.js >= 20.19 is required (found ${node_version})" >&2
  exit 1
fi
echo "install-deps: system packages present (${PACKAGES[*]}); nats-server ${server_version}; node ${node_version}" >&2

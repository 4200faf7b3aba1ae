#!/usr/bin/env bash
# Installs, only when missing, the system packages Holonet and its tests need
# on Debian 12: a JetStream server, a software TPM and its tools, iproute2.
# As root it installs them; otherwise it prints the exact command and fails.
set -euo pipefail

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

node_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  echo "install-deps: Node.js >= 20.19 is required (found ${node_version})" >&2
  exit 1
fi
echo "install-deps: system packages present (${PACKAGES[*]}); node ${node_version}" >&2

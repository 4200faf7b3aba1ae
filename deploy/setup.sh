#!/usr/bin/env bash
# The README's first command. On a fresh Debian 12 machine: installs what is
# missing (system packages when run as root, otherwise prints the exact
# command), the npm dependencies and the build, then starts the embedded
# local fleet (`holonctl up`) when that command is available.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund
fi
echo "setup: building" >&2
npm run build --silent

if [ -f dist/cli/commands/up.js ]; then
  exec node dist/cli/main.js up "$@"
else
  echo "setup: done. The embedded local fleet (holonctl up) is not part of this build yet;" >&2
  echo "setup: try 'node dist/cli/main.js --help' for the commands that are." >&2
fi

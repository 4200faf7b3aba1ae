#!/usr/bin/env bash
# The README's first command. On a fresh Debian 12 machine: installs what is
# missing (system packages when run as root, otherwise prints the exact
# command), the npm dependencies and the build, puts holonctl, holon-agent
# and holon-orchestrator on PATH (links in /usr/local/bin as root, otherwise
# it prints the commands), then starts the embedded local fleet
# (`holonctl up`) when that command is available.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund
fi
echo "setup: building" >&2
npm run build --silent

# The commands on PATH: package.json's "bin" entries (holonctl, holon-agent,
# holon-orchestrator), executable (tsc writes them 0644; each starts with
# #!/usr/bin/env node) and, as root, linked into /usr/local/bin. A link that
# points elsewhere (an install.sh copy in /opt/holonet) is left alone.
BIN_DIR=/usr/local/bin
unlinked=()
while read -r name target; do
  [ -f "$target" ] || continue
  chmod 0755 "$target"
  want="$PWD/$target"
  link="$BIN_DIR/$name"
  if [ -L "$link" ] && [ "$(readlink "$link")" = "$want" ]; then continue; fi
  if [ -e "$link" ]; then
    echo "setup: $link is not this checkout's ($(readlink "$link" || echo 'not a link')): left alone" >&2
    unlinked+=("ln -sfn $want $link")
  elif [ "$(id -u)" -eq 0 ]; then
    ln -sfn "$want" "$link" # absent, or a dangling link
    echo "setup: linked $link -> $want" >&2
  else
    unlinked+=("ln -sfn $want $link")
  fi
done < <(node -e 'for (const [n, t] of Object.entries(require("./package.json").bin)) console.log(n, t)')
if [ "${#unlinked[@]}" -gt 0 ]; then
  echo "setup: to put this checkout's commands on PATH, run as root:" >&2
  for c in "${unlinked[@]}"; do echo "  $c" >&2; done
fi

if [ -f dist/cli/commands/up.js ]; then
  exec node dist/cli/main.js up "$@"
else
  echo "setup: done. The embedded local fleet (holonctl up) is not part of this build yet;" >&2
  echo "setup: try 'node dist/cli/main.js --help' for the commands that are." >&2
fi

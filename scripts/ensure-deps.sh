#!/usr/bin/env bash
# Runs before `npm test` and `npm run up` (npm's pre-scripts) so that both work on a fresh clone:
# installs the locked dependencies when node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
  # `install --no-save`, not `ci`: see .ci/run for why.
  echo "installing npm dependencies (locked versions)…" >&2
  npm install --no-save --no-audit --no-fund >&2
fi

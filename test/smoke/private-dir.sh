#!/usr/bin/env bash
# The README's commands from a checkout under a directory only its owner can enter (as root,
# like root's own home or any `mktemp -d`): `npm install`, then `npm start` until /readyz answers
# 200, then SIGTERM must stop it with exit code 0; and jest's global setup (the embedded
# PostgreSQL of `npm test`) must start there too. Clones the current commit (HEAD).
# Usage: test/smoke/private-dir.sh     (run by .ci/run; about 2 minutes)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
parent=$(mktemp -d "${TMPDIR:-/tmp}/coalition-smoke.XXXXXX")
chmod 700 "$parent"
npm_pid=""
hub_pid=""

# The hub's node process (npm → sh → node) of this checkout: the process an orchestrator signals.
find_hub() {
  # npm start runs `node dist/src/cli/main.js serve --demo` (package.json).
  pgrep -f "^[^ ]*node dist/src/cli/main.js serve --demo" | while read -r pid; do
    if [ "$(readlink "/proc/$pid/cwd")" = "$parent/hub" ]; then echo "$pid"; fi
  done | head -n 1 || true
}

cleanup() {
  for pid in $(find_hub) $npm_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      sleep 5
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  # As root the cluster lives outside the private checkout; DATA_DIR records where.
  if [ -f "$parent/hub/.data/pg-location" ]; then
    rm -rf "$(dirname "$(cat "$parent/hub/.data/pg-location")")"
  fi
  rm -rf "$parent"
}
trap cleanup EXIT

fail() {
  echo "SMOKE FAILED: $*" >&2
  [ -f "$parent/start.log" ] && tail -n 30 "$parent/start.log" >&2
  exit 1
}

echo "== clone into $parent/hub (parent mode 700, running as $(id -un))"
git clone -q "$repo" "$parent/hub"
cd "$parent/hub"

echo "== npm install"
npm install --no-audit --no-fund --prefer-offline >"$parent/install.log" 2>&1 || { tail -n 30 "$parent/install.log" >&2; fail "npm install"; }

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
echo "== npm start (PORT=$port)"
PORT=$port npm start >"$parent/start.log" 2>&1 &
npm_pid=$!

ready=""
for _ in $(seq 1 240); do
  kill -0 "$npm_pid" 2>/dev/null || fail "npm start exited before it was ready"
  if grep -q 'Press Ctrl+C' "$parent/start.log" && node -e "fetch('http://127.0.0.1:$port/readyz').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"; then ready=yes; break; fi
  sleep 1
done
[ -n "$ready" ] || fail "/readyz did not answer 200 within 4 minutes"
echo "   /readyz answers 200"
# The fresh clone built the consoles (npm run build) and prints their sign-in links (docs/consoles.md).
node -e "fetch('http://127.0.0.1:$port/console/member').then(r=>r.text().then(t=>process.exit(r.status===200&&t.includes('/console/assets/')?0:1)),()=>process.exit(1))" ||
  fail "/console/member is not the built console"
grep -q "/console/member#token=" "$parent/start.log" || fail "npm start printed no console sign-in link"
echo "   /console/member serves the built console; sign-in links printed"
hub_pid=$(find_hub)
[ -n "$hub_pid" ] || fail "cannot find the hub's node process"
if grep -qE '^\s+at |EACCES' "$parent/start.log"; then fail "npm start printed a stack trace or EACCES"; fi

echo "== SIGTERM"
kill -TERM "$hub_pid"
status=0
wait "$npm_pid" || status=$?
npm_pid=""
hub_pid=""
[ "$status" -eq 0 ] || fail "npm start exited with $status after SIGTERM"
echo "   exit code 0"

echo "== npm test's global setup (embedded PostgreSQL) from here"
npx jest test/e2e/probes.e2e.test.ts >"$parent/jest.log" 2>&1 || { tail -n 30 "$parent/jest.log" >&2; fail "jest on the embedded PostgreSQL"; }
echo "   jest passed"
echo "SMOKE OK"

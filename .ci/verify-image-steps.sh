#!/usr/bin/env bash
# Exercises the container image without a Docker engine: the Dockerfile's own build steps
# (docker/image-steps.sh) in scratch directories, the runtime layout the Dockerfile assembles, then the
# image's entrypoint run directly: --version, check, and `run` answering /health and exiting 0 on SIGTERM.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build/docker" "$work/prod" "$work/app" "$work/data"

echo "== image: build stage"
cp "$repo"/package.json "$repo"/package-lock.json "$repo"/tsconfig.json "$repo"/tsconfig.build.json "$work/build/"
cp -r "$repo/src" "$work/build/src"
cp "$repo/docker/image-steps.sh" "$work/build/docker/"
bash "$work/build/docker/image-steps.sh" build "$work/build" >/dev/null

echo "== image: production dependencies"
cp "$repo"/package.json "$repo"/package-lock.json "$work/prod/"
bash "$repo/docker/image-steps.sh" prod "$work/prod" >/dev/null
for dev in vitest typescript eslint tsx; do
  if [ -e "$work/prod/node_modules/$dev" ]; then echo "dev dependency $dev in the production install" >&2; exit 1; fi
done

echo "== image: runtime layout"
cp -r "$work/prod/node_modules" "$work/app/node_modules"
cp -r "$work/build/dist" "$work/app/dist"
cp "$repo/package.json" "$work/app/"
cp -r "$repo/bin" "$repo/rules" "$work/app/"
cd "$work"
# Run it as the image does: the runtime stage's MALLOC_ARENA_MAX and the ENTRYPOINT's node flags.
export MALLOC_ARENA_MAX=$(sed -n 's/^ *MALLOC_ARENA_MAX=\([0-9]*\).*/\1/p' "$repo/Dockerfile")
mapfile -t node_flags < <(sed -n 's/^ENTRYPOINT \["node", \(.*\), "\/app\/bin\/rollback-guard.js"\]$/\1/p' "$repo/Dockerfile" | tr -d '"' | tr ',' '\n' | tr -d ' ')
[ -n "$MALLOC_ARENA_MAX" ] && [ ${#node_flags[@]} -gt 0 ] || { echo "the Dockerfile lost MALLOC_ARENA_MAX or the ENTRYPOINT's node flags" >&2; exit 1; }
echo "as the image runs it: MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX node ${node_flags[*]}"
entry=(node "${node_flags[@]}" "$work/app/bin/rollback-guard.js")
"${entry[@]}" --version
"${entry[@]}" check "$work/app/rules/voice-server.yaml"

echo "== image: entrypoint 'run', /health, SIGTERM"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
ROLLBACK_GUARD_DB="$work/data/decisions.db" ROLLBACK_GUARD_LISTEN="127.0.0.1:$port" PROMETHEUS_URL=http://127.0.0.1:9 \
  "${entry[@]}" run --no-kubernetes --rules "$work/app/rules/voice-server.yaml" >"$work/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if node -e "fetch('http://127.0.0.1:$port/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then break; fi
  sleep 0.1
done
node -e "fetch('http://127.0.0.1:$port/health').then(r=>r.json()).then(h=>{console.log('health:', h.status, h.version); process.exit(h.status==='ok'?0:1)})" || { echo "the daemon did not answer /health; its log:" >&2; cat "$work/run.log" >&2; exit 1; }
kill -TERM "$pid"
if wait "$pid"; then echo "exit 0 on SIGTERM"; else code=$?; echo "exit $code on SIGTERM" >&2; cat "$work/run.log" >&2; exit 1; fi
test -f "$work/data/decisions.db"
echo "image steps: ok"

#!/usr/bin/env bash
# The image's build steps, shared by the Dockerfile and CI (no Docker engine runs in CI, so CI runs these same
# commands in a directory and then runs the result's entrypoint directly).
#   image-steps.sh build DIR   compile: dev install, native module, TypeScript -> DIR/dist
#   image-steps.sh prod DIR    production dependencies only, native module built, no dev tools
set -euo pipefail
step=${1:?usage: image-steps.sh build|prod DIR}
dir=${2:?usage: image-steps.sh build|prod DIR}
cd "$dir"
case "$step" in
  build)
    # --ignore-scripts: `prepare` would build before the sources are in place; build explicitly instead.
    npm ci --no-audit --no-fund --ignore-scripts
    npm rebuild better-sqlite3
    npm run build
    ;;
  prod)
    npm ci --no-audit --no-fund --ignore-scripts --omit=dev
    npm rebuild better-sqlite3
    npm cache clean --force >/dev/null 2>&1 || true
    ;;
  *)
    echo "unknown step: $step" >&2
    exit 2
    ;;
esac

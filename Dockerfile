# syntax=docker/dockerfile:1
# rollback-guard: multi-stage build. The build steps live in docker/image-steps.sh so CI runs the very same
# commands without a Docker engine (see .ci/run).
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY docker/image-steps.sh docker/
COPY src src
RUN bash docker/image-steps.sh build /src

FROM node:${NODE_VERSION}-bookworm AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY docker/image-steps.sh /tmp/
RUN bash /tmp/image-steps.sh prod /app

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="rollback-guard" \
      org.opencontainers.image.description="Guards releases of a Kubernetes Deployment: reverts or pages on Prometheus rollback rules, and logs every decision." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="UNLICENSED"
# Two malloc arenas instead of one per thread (see the ENTRYPOINT for the rest of the memory settings).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    ROLLBACK_GUARD_DB=/data/decisions.db \
    ROLLBACK_GUARD_LISTEN=0.0.0.0:8080
WORKDIR /app
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
COPY bin bin
COPY rules rules
# Non-root, and nothing written outside /data: runs with readOnlyRootFilesystem (the decision log and SQLite's
# temporary files live on the /data volume; SQLite temp storage is in memory).
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8080
# node is PID 1: the daemon installs its own SIGTERM/SIGINT handlers (finish the tick, close the log, exit 0),
# and it starts no child processes, so there is nothing to reap.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# V8 for a small, long-running daemon: favour memory over speed, and a 1 MB young generation (its default grows to
# 16 MB). Only this process gets them (not a `kubectl exec ... node` running replay). With MALLOC_ARENA_MAX above
# they keep the daemon near its live data; `npm run bench` runs the daemon with exactly these settings. ADR 0008.
ENTRYPOINT ["node", "--optimize-for-size", "--max-semi-space-size=1", "/app/bin/rollback-guard.js"]
CMD ["run"]

// The daemon's HTTP endpoints: /health (JSON), /ready, /metrics, and POST /v1/triggers. Other handlers (the
// approval API, Slack interactions) are mounted as plain node:http handlers that say whether they handled it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES, sameSecret } from '../adapters/http-api/approval-handler.js';
import { forwardUnlessLeader } from '../adapters/http-api/forward-to-leader.js';
import { readBody, unknownFields } from '../adapters/http-api/read-body.js';
import type { Daemon } from './daemon.js';
import type { DaemonMetrics } from './metrics.js';
import { UsageError } from '../errors/usage-error.js';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;

export interface HttpOptions {
  host: string;
  port: number;
  version: string;
  /** Bearer token for POST endpoints; undefined disables them (403). */
  apiToken: () => string | undefined;
  /** Refreshes figures read from elsewhere (the outbox) before /metrics is rendered. */
  beforeMetrics?: () => void;
  /** Extra health figures (outbox depth, dead notifications...). */
  health?: () => Record<string, unknown>;
  routes?: RouteHandler[];
  ready: () => boolean;
  /** The leader's API base URL (from the Lease): a follower forwards POST /v1/triggers there. */
  leaderUrl?: () => string | undefined;
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
}

/** The API token check, shared with the approval API: digests compared in constant time (no length leak either). */
export function bearerOk(req: http.IncomingMessage, token: string | undefined): boolean {
  if (!token) return false;
  const got = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '';
  return got !== '' && sameSecret(got, token);
}

export async function startHttpServer(daemon: Daemon, metrics: DaemonMetrics, o: HttpOptions): Promise<{ server: http.Server; url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/health') {
      const s = daemon.status();
      const { status: extraStatus, ...extra } = o.health?.() ?? {};
      // blind (cannot see) outranks degraded (cannot tell people), which outranks ok
      // A Deployment two rules files claim is degraded too: one file's rules are not guarding it.
      const status = s.blindSince ? 'blind' : typeof extraStatus === 'string' ? extraStatus : s.conflicts?.length ? 'degraded' : 'ok';
      json(res, 200, { status, version: o.version, ...s, ...extra });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/ready') {
      const ready = o.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      o.beforeMetrics?.();
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      return;
    }
    if (url.pathname === '/v1/triggers') {
      if (req.method !== 'POST') return json(res, 405, { error: 'use POST' });
      if (!o.apiToken()) return json(res, 403, { error: 'the API is disabled: set ROLLBACK_GUARD_API_TOKEN(_FILE) on the daemon' });
      if (!bearerOk(req, o.apiToken())) return json(res, 401, { error: 'missing or wrong bearer token' });
      const text = await readBody(req, MAX_BODY_BYTES);
      if (text === undefined) return json(res, 413, { error: `the body is over ${MAX_BODY_BYTES} bytes; send {"target", "tier", "reason", "by"}` });
      const route = { isLeader: () => daemon.status().leader, leader: () => daemon.status().leaderName, ...(o.leaderUrl ? { leaderUrl: o.leaderUrl } : {}) };
      if (await forwardUnlessLeader(route, req, res, text)) return;
      let body: Record<string, unknown>;
      try {
        body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
      } catch {
        return json(res, 400, { error: 'the body must be JSON: {"target": "NAMESPACE/DEPLOYMENT", "tier": "immediate"|"considered", "reason": "...", "by": "NAME"}' });
      }
      const unknown = unknownFields(body, ['target', 'tier', 'reason', 'by']);
      if (unknown) return json(res, 400, { error: unknown });
      const target = typeof body.target === 'string' ? body.target.split('/') : [];
      const tier = body.tier;
      if (target.length !== 2 || (tier !== 'immediate' && tier !== 'considered') || typeof body.reason !== 'string' || typeof body.by !== 'string' || !body.reason || !body.by) {
        return json(res, 400, { error: 'expected {"target": "NAMESPACE/DEPLOYMENT", "tier": "immediate"|"considered", "reason": "...", "by": "NAME"}' });
      }
      try {
        const d = await daemon.trigger({ namespace: target[0]!, deployment: target[1]!, tier, reason: body.reason, by: body.by });
        return json(res, 201, { decisionId: d.id, action: d.action, releaseId: d.releaseId });
      } catch (err) {
        return json(res, 409, { error: err instanceof Error ? err.message : String(err) });
      }
    }
    for (const route of o.routes ?? []) if (await route(req, res)) return;
    json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, o.host, o.port)));
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** A port in use or an address this host does not have is a setting to change, not a bug (exit 2). */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why: Record<string, string> = {
    EADDRINUSE: 'the port is already in use (another rollback-guard, or another server); choose another port',
    EADDRNOTAVAIL: 'this host has no such address; use 0.0.0.0 (every address), 127.0.0.1, or one of its own addresses',
    EACCES: 'not permitted (ports below 1024 need privileges); choose a port above 1024',
  };
  const hint = err.code ? why[err.code] : undefined;
  if (!hint) return err;
  return new UsageError(`cannot listen on ${where} (--listen / ROLLBACK_GUARD_LISTEN): ${err.code}: ${hint}`, { cause: err });
}

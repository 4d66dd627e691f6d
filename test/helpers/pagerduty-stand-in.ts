// A loopback stand-in for PagerDuty's Events API v2 (POST /v2/enqueue) over TLS, since pdjs only speaks https.
// The certificate is self-signed, made at test time with openssl. It enforces the contract: 202 with dedup_key
// for a valid event, 400 "invalid event" with errors otherwise; scripted 429 (Retry-After) and 5xx; stop and
// start again on the same port (PagerDuty down, then back).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { closeServer, listenLoopback } from './loopback-listen.js';

export interface PdEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: { summary: string; source: string; severity: string; custom_details?: Record<string, unknown> };
}

/** A fresh self-signed certificate for 127.0.0.1 (openssl must be installed: a missing one fails the test). */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];

function validate(e: Partial<PdEvent> & Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) errors.push("'routing_key' must be a 32 character string");
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(e.event_action))) errors.push("'event_action' is invalid");
  if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255)) errors.push("'dedup_key' must be at most 255 characters");
  if (e.event_action !== 'trigger' && !e.dedup_key) errors.push("'dedup_key' is required for acknowledge and resolve");
  if (e.event_action === 'trigger') {
    const p = e.payload;
    if (!p || typeof p !== 'object') errors.push("'payload' is missing");
    else {
      if (typeof p.summary !== 'string' || !p.summary || p.summary.length > 1024) errors.push("'payload.summary' must be 1-1024 characters");
      if (typeof p.source !== 'string' || !p.source) errors.push("'payload.source' is missing");
      if (!SEVERITIES.includes(String(p.severity))) errors.push("'payload.severity' is invalid");
    }
  }
  return errors;
}

type Scripted = { status: number; retryAfter?: number };

export class PagerDutyStandIn {
  readonly cert: string;
  private readonly key: string;
  private server: https.Server | undefined;
  port = 0;
  /** Every request received, valid or not, in order. */
  readonly received: PdEvent[] = [];
  /** Events answered 202. */
  readonly accepted: PdEvent[] = [];
  /** When each accepted event arrived (performance.now()), to order it against other stand-ins' requests. */
  readonly acceptedAt: number[] = [];
  /** Incident state per dedup_key, as PagerDuty would hold it. */
  readonly incidents = new Map<string, { status: 'triggered' | 'acknowledged' | 'resolved'; triggers: number }>();
  private readonly script: Scripted[] = [];

  constructor() {
    const { key, cert } = selfSignedCert();
    this.key = key;
    this.cert = cert;
  }

  get server_(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next requests get these answers instead of being processed. */
  failNext(...answers: Scripted[]): void {
    this.script.push(...answers);
  }

  async start(port = this.port): Promise<void> {
    this.server = https.createServer({ key: this.key, cert: this.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req.method ?? '', req.url ?? '', Buffer.concat(chunks).toString('utf8'), res));
    });
    this.port = await listenLoopback(this.server, port);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }

  private handle(method: string, url: string, body: string, res: ServerResponse): void {
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };
    if (method !== 'POST' || url !== '/v2/enqueue') return send(404, { status: 'not found' });
    let event: PdEvent & Record<string, unknown>;
    try {
      event = JSON.parse(body) as PdEvent & Record<string, unknown>;
    } catch {
      return send(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['body is not JSON'] });
    }
    this.received.push(event);
    const scripted = this.script.shift();
    if (scripted) {
      if (scripted.status === 429) return send(429, { status: 'throttle event', message: 'Requests for this service are arriving too quickly' }, scripted.retryAfter ? { 'retry-after': String(scripted.retryAfter) } : {});
      return send(scripted.status, { status: 'error', message: 'internal error' });
    }
    const errors = validate(event);
    if (errors.length) return send(400, { status: 'invalid event', message: 'Event object is invalid', errors });
    const dedup = event.dedup_key ?? `generated-${this.received.length}`;
    this.accepted.push({ ...event, dedup_key: dedup });
    this.acceptedAt.push(performance.now());
    const inc = this.incidents.get(`${event.routing_key}/${dedup}`);
    if (event.event_action === 'trigger') {
      if (!inc || inc.status === 'resolved') this.incidents.set(`${event.routing_key}/${dedup}`, { status: 'triggered', triggers: (inc?.triggers ?? 0) + 1 });
    } else if (inc && inc.status !== 'resolved') inc.status = event.event_action === 'acknowledge' ? 'acknowledged' : 'resolved';
    send(202, { status: 'success', message: 'Event processed', dedup_key: dedup });
  }
}

// A simulated voice-server exporter (prom-client): request, session and TTFA metrics whose error rate a test can
// change at run time. Counters advance on a 100 ms timer at `requestsPerSecond`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';

export interface VoiceExporter {
  /** host:port, for a scrape config. */
  target: string;
  errorRatio: number;
  requestsPerSecond: number;
  close(): Promise<void>;
}

export async function startVoiceExporter(opts: { errorRatio?: number; requestsPerSecond?: number } = {}): Promise<VoiceExporter> {
  const registry = new client.Registry();
  const requests = new client.Counter({ name: 'voice_http_requests_total', help: 'HTTP requests by status', labelNames: ['status'], registers: [registry] });
  const sessions = new client.Counter({ name: 'voice_session_creations_total', help: 'Session creations', registers: [registry] });
  const failures = new client.Counter({ name: 'voice_session_creation_failures_total', help: 'Failed session creations', registers: [registry] });
  const ttfa = new client.Histogram({ name: 'voice_ttfa_seconds', help: 'Time to first audio', buckets: [0.1, 0.2, 0.4, 0.8, 1.6], registers: [registry] });
  const exporter: VoiceExporter = { target: '', errorRatio: opts.errorRatio ?? 0, requestsPerSecond: opts.requestsPerSecond ?? 50, close: async () => {} };
  let carry = 0;
  let errorCarry = 0; // fractions carried over, so a 2 % error rate at 10 requests a tick is not rounded to 0
  const timer = setInterval(() => {
    carry += exporter.requestsPerSecond / 10;
    const n = Math.floor(carry);
    carry -= n;
    errorCarry += n * exporter.errorRatio;
    const errors = Math.min(n, Math.floor(errorCarry));
    errorCarry -= errors;
    requests.inc({ status: '500' }, errors);
    requests.inc({ status: '200' }, n - errors);
    sessions.inc(n / 20);
    for (let i = 0; i < n; i++) ttfa.observe(0.3);
  }, 100);
  requests.inc({ status: '500' }, 0);
  failures.inc(0);
  const server = http.createServer((req, res) => {
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  exporter.target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  exporter.close = () =>
    new Promise<void>((r) => {
      clearInterval(timer);
      server.closeAllConnections();
      server.close(() => r());
    });
  return exporter;
}

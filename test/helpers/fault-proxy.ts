// A loopback HTTP proxy in front of a real server, that can misbehave on demand: delay, answer with a status
// (and Retry-After) a number of times, serve an HTML page, or a crafted body. It records every request.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'status'; status: number; times: number; retryAfter?: string; body?: string; contentType?: string }
  | { kind: 'respond'; status: number; body: string; contentType?: string; headers?: Record<string, string> };

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The forwarded answer's Content-Encoding, once it came back (`pass` and `delay` only). */
  responseEncoding?: string;
}

export interface FaultProxy {
  url: string;
  fault: Fault;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** `prefix` is stripped before forwarding, to stand in for a Prometheus behind a path prefix. */
export async function startFaultProxy(target: string, prefix = ''): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = { url: '', fault: { kind: 'pass' }, requests: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      proxy.requests.push(seen);
      const f = proxy.fault;
      const forward = () => {
        const path = (req.url ?? '/').startsWith(prefix) ? (req.url ?? '/').slice(prefix.length) || '/' : req.url ?? '/';
        if (prefix && !(req.url ?? '').startsWith(prefix)) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
          return;
        }
        const up = http.request(target + path, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (r) => {
          const encoding = r.headers['content-encoding'];
          if (encoding) seen.responseEncoding = encoding;
          res.writeHead(r.statusCode ?? 502, r.headers);
          // A watch answers headers and then nothing until an event: pass the headers on at once, as they came.
          res.flushHeaders();
          r.pipe(res);
        });
        up.on('error', () => res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>'));
        up.end(body);
      };
      if (f.kind === 'pass') forward();
      else if (f.kind === 'delay') setTimeout(forward, f.ms);
      else if (f.kind === 'respond') res.writeHead(f.status, { 'content-type': f.contentType ?? 'application/json', ...f.headers }).end(f.body);
      else if (f.times > 0) {
        f.times--;
        res.writeHead(f.status, { 'content-type': f.contentType ?? 'text/html', ...(f.retryAfter ? { 'retry-after': f.retryAfter } : {}) }).end(f.body ?? `<html><body><h1>${f.status} Service Unavailable</h1></body></html>`);
      } else forward();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return proxy;
}

// A loopback stand-in for Prometheus's query API (POST /api/v1/query and /api/v1/query_range, form-encoded, as the
// client sends them) whose series are deterministic functions of time: what a live instant query at t returned
// is exactly what a later range query returns at t, so a differential test compares deciding, not ingestion.
// It answers as Prometheus does: a vector or a matrix of one series, an empty result for no data, and 400
// bad_data for a query it does not know.
import http from 'node:http';
import { closeServer, listenLoopback } from './loopback-listen.js';

/** The value of `query` at `t` (Unix ms); null: no sample (an empty result); undefined: an unknown query. */
export type SeriesFunction = (query: string, t: number) => number | null | undefined;

const sample = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

export class PrometheusStandIn {
  private server: http.Server | undefined;
  url = '';
  /** Requests answered, by endpoint. */
  readonly requests = { query: 0, queryRange: 0 };

  constructor(private readonly series: SeriesFunction) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => this.answer(req, body, res));
    });
    const port = await listenLoopback(this.server, 0);
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
    this.server = undefined;
  }

  private answer(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const params = new URLSearchParams(req.method === 'POST' ? body : url.search);
    const reply = (status: number, json: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    const bad = (error: string) => reply(400, { status: 'error', errorType: 'bad_data', error });
    const query = params.get('query') ?? '';
    const seconds = (name: string) => Math.round(Number(params.get(name)) * 1000);
    if (url.pathname === '/api/v1/query') {
      this.requests.query++;
      const t = params.has('time') ? seconds('time') : Date.now();
      const v = this.series(query, t);
      if (v === undefined) return bad(`unknown query: ${query}`);
      return reply(200, { status: 'success', data: { resultType: 'vector', result: v === null ? [] : [{ metric: {}, value: [t / 1000, sample(v)] }] } });
    }
    if (url.pathname === '/api/v1/query_range') {
      this.requests.queryRange++;
      const [start, end, step] = [seconds('start'), seconds('end'), seconds('step')];
      if (!(step > 0) || end < start) return bad('invalid range');
      const values: [number, string][] = [];
      for (let t = start; t <= end; t += step) {
        const v = this.series(query, t);
        if (v === undefined) return bad(`unknown query: ${query}`);
        if (v !== null) values.push([t / 1000, sample(v)]);
      }
      return reply(200, { status: 'success', data: { resultType: 'matrix', result: values.length ? [{ metric: {}, values }] : [] } });
    }
    reply(404, { status: 'error', errorType: 'not_found', error: `no such endpoint: ${url.pathname}` });
  }
}

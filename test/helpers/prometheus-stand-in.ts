// A loopback stand-in for Prometheus's query API (POST /api/v1/query and /api/v1/query_range, form-encoded, as the
// client sends them) whose series are deterministic functions of time: what a live instant query at t returned
// is exactly what a later range query returns at t, so a differential test compares deciding, not ingestion.
// It answers as Prometheus does: a vector or a matrix, an empty result for no data, and 400 bad_data for a query it
// does not know. A series carries the labels of the query's equality matchers (`x{deployment="a"}` answers
// {deployment="a"}), and a query with regex matchers over alternatives (`x{deployment=~"a|b"}`, as a query shared
// by several targets is sent) answers one series per alternative that has a value, as Prometheus would: each the
// value of the query with that matcher written as an equality.
import http from 'node:http';
import { closeServer, listenLoopback } from './loopback-listen.js';

/** The value of `query` at `t` (Unix ms); null: no sample (an empty result); undefined: an unknown query. */
export type SeriesFunction = (query: string, t: number) => number | null | undefined;

/** `label="value"` matchers of a query, as the labels Prometheus would keep on its series. */
function equalityLabels(query: string): Record<string, string> {
  return Object.fromEntries([...query.matchAll(/([a-zA-Z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!.replace(/\\(.)/g, '$1')]));
}

/**
 * A query with regex matchers over literal alternatives (`label=~"a|b"`, `label=~"a"`; `\\.` is a literal dot) as the
 * queries of each combination of alternatives, each written as equalities; itself when it has none. A real regex
 * (`status=~"5.."`) is left as written.
 */
function expand(query: string): string[] {
  const m = /([a-zA-Z_]\w*)=~"((?:[^"\\.*+?()[\]{}^$]|\\\\.)*)"/.exec(query);
  if (!m) return [query];
  // The regex's alternatives, unescaped twice (the PromQL string, then RE2).
  const values = m[2]!.replace(/\\\\/g, '\\').split('|').map((v) => v.replace(/\\(.)/g, '$1'));
  // Every occurrence of the same matcher takes the same value: a series has one value per label.
  return values.flatMap((v) => expand(query.split(m[0]).join(`${m[1]}="${v.replace(/["\\]/g, (c) => `\\${c}`)}"`)));
}

const sample = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

export class PrometheusStandIn {
  private server: http.Server | undefined;
  url = '';
  /** Requests answered, by endpoint. */
  readonly requests = { query: 0, queryRange: 0, /** instant queries answered for several targets at once */ grouped: 0 };

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
      const result = [];
      for (const q of expand(query)) {
        const v = this.series(q, t);
        if (v === undefined) return bad(`unknown query: ${query}`);
        if (v !== null) result.push({ metric: equalityLabels(q), value: [t / 1000, sample(v)] });
      }
      if (result.length > 1) this.requests.grouped++;
      return reply(200, { status: 'success', data: { resultType: 'vector', result } });
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
      return reply(200, { status: 'success', data: { resultType: 'matrix', result: values.length ? [{ metric: equalityLabels(query), values }] : [] } });
    }
    reply(404, { status: 'error', errorType: 'not_found', error: `no such endpoint: ${url.pathname}` });
  }
}

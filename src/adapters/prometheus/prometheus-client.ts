// A client for the Prometheus HTTP API (also Thanos, Mimir, VictoriaMetrics): instant and range queries sent as
// POST form bodies (long PromQL fits), a per-query timeout, a bound on queries in flight, and retries with
// jittered backoff for failures that may pass (connection, 5xx, 429 honouring Retry-After) within a budget.
// A rejected query (`bad_data`, 4xx) is never retried. Credentials never appear in errors or logs.
import fs from 'node:fs';
import https from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import pLimit, { type LimitFunction } from 'p-limit';
import { PrometheusError } from '../../errors/prometheus-error.js';
import { instantResult, parseEnvelope, rangeResult, type InstantResult, type RangeResult, type RangeSeries } from './prometheus-response.js';

/** Prometheus refuses range queries of more than this many points per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

export interface PrometheusConnection {
  /** Base URL, with any path prefix: `http://prometheus:9090`, `https://mimir.example/prometheus`. */
  url: string;
  /** Extra headers on every request, e.g. `{ 'X-Scope-OrgID': 'voice' }` for Mimir. */
  headers?: Record<string, string>;
  /** Bearer token, or a file holding it (read on every request, so a rotated token is picked up). */
  bearerToken?: string;
  bearerTokenFile?: string;
  basicAuth?: { username: string; password?: string; passwordFile?: string };
  /** PEM file of the CA that signed the server's certificate. */
  caFile?: string;
  /** Skip TLS verification. Default false. For tests and emergencies only. */
  insecureSkipVerify?: boolean;
  /** Per-query timeout, ms; also sent to Prometheus as `timeout`. Default 10 000. */
  timeoutMs?: number;
  /** Queries in flight at once. Default 8. */
  maxInFlight?: number;
  /** Time a query may spend retrying, ms, from its first attempt. Default 15 000 (one daemon tick). */
  retryBudgetMs?: number;
  /** First retry delay, ms; doubles each attempt, with full jitter. Default 250. */
  backoffBaseMs?: number;
  /** Largest retry delay, ms. Default 5 000. */
  backoffMaxMs?: number;
}

export interface ClientHooks {
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface Attempt {
  status: number;
  body: string;
  contentType: string | undefined;
  retryAfterMs: number | undefined;
  location: string | undefined;
}

export class PrometheusClient {
  readonly baseUrl: string;
  private readonly http: AxiosInstance;
  private readonly limit: LimitFunction;
  private readonly conn: Required<Pick<PrometheusConnection, 'timeoutMs' | 'retryBudgetMs' | 'backoffBaseMs' | 'backoffMaxMs'>> & PrometheusConnection;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(conn: PrometheusConnection, hooks: ClientHooks = {}) {
    let base: URL;
    try {
      base = new URL(conn.url);
    } catch {
      throw new PrometheusError('RG_PROM_UNREACHABLE', `Prometheus URL ${JSON.stringify(conn.url)} is not a URL; write it like http://prometheus:9090`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new PrometheusError('RG_PROM_UNREACHABLE', `Prometheus URL must be http:// or https://, not ${base.protocol}`);
    }
    if (base.username || base.password) {
      throw new PrometheusError('RG_PROM_UNREACHABLE', 'put Prometheus credentials in PROMETHEUS_USERNAME / PROMETHEUS_PASSWORD(_FILE), not in the URL (URLs end up in logs)');
    }
    this.baseUrl = base.href.endsWith('/') ? base.href : base.href + '/';
    this.conn = { timeoutMs: 10_000, retryBudgetMs: 15_000, backoffBaseMs: 250, backoffMaxMs: 5_000, ...conn };
    this.limit = pLimit(Math.max(1, conn.maxInFlight ?? 8));
    this.random = hooks.random ?? Math.random;
    this.sleep = hooks.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = hooks.now ?? Date.now;
    const httpsAgent =
      base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, rejectUnauthorized: !conn.insecureSkipVerify, ...(conn.caFile ? { ca: readSecretFile(conn.caFile, 'CA file', 'PROMETHEUS_CA_FILE') } : {}) })
        : undefined;
    this.http = axios.create({
      ...(httpsAgent ? { httpsAgent } : {}),
      responseType: 'text',
      transformResponse: (data: unknown) => data, // parse ourselves: a non-JSON body is an explicit error
      validateStatus: () => true,
      // Redirects are an error naming the new URL, not followed: a POSTed query would be re-sent elsewhere (or
      // turned into a bodiless GET by a 301/302), and with 0 axios skips its follow-redirects wrapper on every query.
      maxRedirects: 0,
      proxy: false,
    });
  }

  /** Instant query at `at` (Unix ms). */
  async query(query: string, at: number): Promise<InstantResult> {
    const env = await this.post('api/v1/query', { query, time: (at / 1000).toFixed(3) });
    return instantResult(env);
  }

  /**
   * Range query from `start` to `end` (Unix ms, inclusive) at `stepMs`. Ranges over Prometheus's 11,000 points
   * per series are split into chunks and stitched back together, series by series.
   */
  async queryRange(query: string, start: number, end: number, stepMs: number): Promise<RangeResult> {
    const chunkMs = (MAX_POINTS_PER_SERIES - 1) * stepMs;
    const chunks: [number, number][] = [];
    for (let s = start; s <= end; s += chunkMs + stepMs) chunks.push([s, Math.min(end, s + chunkMs)]);
    const parts = await Promise.all(
      chunks.map(async ([s, e]) =>
        rangeResult(await this.post('api/v1/query_range', { query, start: (s / 1000).toFixed(3), end: (e / 1000).toFixed(3), step: (stepMs / 1000).toString() })),
      ),
    );
    if (parts.length === 1) return parts[0]!;
    const bySeries = new Map<string, RangeSeries>();
    const warnings: string[] = [];
    for (const part of parts) {
      warnings.push(...part.warnings);
      for (const s of part.series) {
        const key = JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
        const seen = bySeries.get(key);
        if (seen) seen.values.push(...s.values);
        else bySeries.set(key, { labels: s.labels, values: [...s.values] });
      }
    }
    return { series: [...bySeries.values()], warnings: [...new Set(warnings)] };
  }

  private async post(path: string, form: Record<string, string>): Promise<ReturnType<typeof parseEnvelope>> {
    const started = this.now();
    const deadline = started + this.conn.retryBudgetMs;
    for (let attempt = 1; ; attempt++) {
      let failure: PrometheusError;
      let retryAfterMs: number | undefined;
      let res: Attempt | undefined;
      try {
        res = await this.limit(() => this.once(path, form));
      } catch (err) {
        // Our own credentials could not be read: nothing was sent, and retrying at once cannot help.
        if (err instanceof PrometheusError && err.code === 'RG_PROM_CREDENTIALS') throw err;
        failure = transportError(err, this.conn.timeoutMs, attempt);
      }
      if (res) {
        if (res.status >= 300 && res.status < 400 && res.location !== undefined) throw redirected(res, this.baseUrl, path, attempt);
        if (res.status !== 429 && res.status < 500) {
          const env = parseEnvelope(res.status, res.body, res.contentType); // not JSON: a proxy answered; not retried
          if (env.status === 'success') return env;
          // 4xx (bad_data, execution) or 200 with status "error": the query itself is wrong; retrying cannot help.
          throw new PrometheusError('RG_PROM_BAD_QUERY', `Prometheus rejected the query (HTTP ${res.status}, ${env.errorType ?? 'error'}): ${env.error ?? 'no message'}`, { status: res.status, attempts: attempt });
        }
        failure = new PrometheusError('RG_PROM_UNAVAILABLE', `HTTP ${res.status}${describeBody(res)}`, { status: res.status, attempts: attempt });
        retryAfterMs = res.retryAfterMs;
      }
      const wait = this.backoff(attempt, retryAfterMs);
      if (this.now() + wait >= deadline) throw this.givenUp(failure!, attempt, started, retryAfterMs);
      await this.sleep(wait);
    }
  }

  private givenUp(last: PrometheusError, attempts: number, started: number, retryAfterMs: number | undefined): PrometheusError {
    const after = retryAfterMs !== undefined ? `; the server asked to wait ${Math.ceil(retryAfterMs / 1000)} s` : '';
    const msg = attempts > 1 ? `${last.message} (gave up after ${attempts} attempts in ${((this.now() - started) / 1000).toFixed(1)} s${after})` : `${last.message}${after}`;
    return new PrometheusError(last.code, msg, { ...(last.status !== undefined ? { status: last.status } : {}), attempts });
  }

  /** Full-jitter exponential backoff; a Retry-After from the server is a floor. */
  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    const cap = Math.min(this.conn.backoffMaxMs, this.conn.backoffBaseMs * 2 ** (attempt - 1));
    const jittered = this.random() * cap;
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  private async once(path: string, form: Record<string, string>): Promise<Attempt> {
    // Instant answers are a few hundred bytes: compressing them costs both ends more than it saves. Range answers
    // (replay, record) can be megabytes, so those are asked for gzipped.
    const encoding = path === 'api/v1/query' ? 'identity' : 'gzip';
    const headers: Record<string, string> = { ...this.conn.headers, Accept: 'application/json', 'Accept-Encoding': encoding, 'Content-Type': 'application/x-www-form-urlencoded' };
    const auth = this.authorization();
    if (auth) headers.Authorization = auth;
    const body = new URLSearchParams({ ...form, timeout: `${Math.max(1, Math.floor(this.conn.timeoutMs / 1000))}s` });
    const res: AxiosResponse<string> = await this.http.post(this.baseUrl + path, body.toString(), { headers, timeout: this.conn.timeoutMs });
    const retryAfter = res.headers['retry-after'] as string | undefined;
    return {
      status: res.status,
      body: res.data,
      contentType: res.headers['content-type'] as string | undefined,
      retryAfterMs: parseRetryAfter(retryAfter, this.now()),
      location: res.headers.location as string | undefined,
    };
  }

  private authorization(): string | undefined {
    const c = this.conn;
    if (c.bearerTokenFile) return `Bearer ${readSecretFile(c.bearerTokenFile, 'bearer token file', 'PROMETHEUS_BEARER_TOKEN_FILE').trim()}`;
    if (c.bearerToken) return `Bearer ${c.bearerToken}`;
    if (c.basicAuth) {
      const password = c.basicAuth.passwordFile ? readSecretFile(c.basicAuth.passwordFile, 'password file', 'PROMETHEUS_PASSWORD_FILE').trim() : (c.basicAuth.password ?? '');
      return `Basic ${Buffer.from(`${c.basicAuth.username}:${password}`).toString('base64')}`;
    }
    return undefined;
  }
}

function readSecretFile(file: string, what: string, setting: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PrometheusError('RG_PROM_CREDENTIALS', `cannot read the Prometheus ${what} ${file} (${code}): check ${setting} and that the file is mounted and readable`, { cause: err });
  }
}

function redirected(res: Attempt, baseUrl: string, path: string, attempts: number): PrometheusError {
  // Shown without credentials, query or fragment: they may hold secrets, and the message ends up in logs.
  let to = '';
  let fix = 'set the Prometheus URL to where it points';
  try {
    const u = new URL(res.location!, baseUrl + path);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    to = ` to ${u.href}`;
    if (u.href.endsWith(`/${path}`)) fix = `set the Prometheus URL to ${u.href.slice(0, -path.length)}`;
  } catch {
    // not a URL: say only that it redirects
  }
  return new PrometheusError(
    'RG_PROM_BAD_RESPONSE',
    `HTTP ${res.status}: the Prometheus URL redirects${to}; ${fix} (redirects are not followed, so a query and its credentials are never re-sent to another address)`,
    { status: res.status, attempts },
  );
}

function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describeBody(res: Attempt): string {
  try {
    const env = JSON.parse(res.body) as { error?: string };
    return env.error ? `: ${env.error}` : '';
  } catch {
    const text = res.body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 80);
    return text ? ` ("${text}")` : '';
  }
}

/** An axios/network failure as a PrometheusError, without the request config (it holds the credentials). */
function transportError(err: unknown, timeoutMs: number, attempt: number): PrometheusError {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '')) {
    return new PrometheusError('RG_PROM_TIMEOUT', `no answer within the ${timeoutMs / 1000} s query timeout`, { attempts: attempt });
  }
  const code = e.code ?? 'error';
  const hint = code === 'ECONNREFUSED' ? ' (nothing listens there: is Prometheus running, and the URL right?)' : code === 'ENOTFOUND' ? ' (unknown host)' : '';
  return new PrometheusError('RG_PROM_UNREACHABLE', `cannot connect: ${code}${hint}`, { attempts: attempt });
}

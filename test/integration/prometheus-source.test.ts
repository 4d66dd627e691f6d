// The Prometheus metric source against a real Prometheus: result typing, failures as explicit outcomes, retries,
// connection settings, and a live exporter whose error rate changes while Prometheus scrapes it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient, type PrometheusConnection } from '../../src/adapters/prometheus/prometheus-client.js';
import { PrometheusSource } from '../../src/adapters/prometheus/prometheus-source.js';
import type { QueryOutcome } from '../../src/core/query-outcome.js';
import { PrometheusError } from '../../src/errors/prometheus-error.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { waitFor } from '../helpers/free-port.js';
import { disposePrometheus, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { useTempDir } from '../helpers/temp-dir.js';
import { startVoiceExporter, type VoiceExporter } from '../helpers/voice-exporter.js';

const tmp = useTempDir();
let prom: PrometheusServer;
let exporter: VoiceExporter;
let proxy: FaultProxy;

beforeAll(async () => {
  exporter = await startVoiceExporter({ errorRatio: 0 });
  prom = await startPrometheus({ scrapeTargets: [exporter.target], scrapeInterval: '1s' });
  proxy = await startFaultProxy(prom.url, '/prometheus');
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await disposePrometheus(prom);
  await exporter?.close();
});

const source = (conn: Partial<PrometheusConnection> = {}) => new PrometheusSource(new PrometheusClient({ url: prom.url, ...conn }));
const now = () => Date.now();
const values = (o: QueryOutcome) => (o.kind === 'series' ? o.series.map((s) => s.value) : o.kind);

describe('results typed exactly', () => {
  it.each([
    ['an instant vector', 'vector(1)', [1]],
    ['a scalar', '2 * 3', [6]],
    ['NaN', '0 / 0', [Number.NaN]],
    ['+Inf', '1 / 0', [Number.POSITIVE_INFINITY]],
    ['-Inf', '-1 / 0', [Number.NEGATIVE_INFINITY]],
    ['an empty result', 'metric_that_does_not_exist', 'empty'],
  ])('%s', async (_n, query, want) => {
    expect(values(await source().instant(query, now()))).toEqual(want);
  });

  it('several series keep their labels', async () => {
    const out = await source().instant('label_replace(vector(1), "pod", "a", "", "") or label_replace(vector(2), "pod", "b", "", "")', now());
    expect(out.kind === 'series' && out.series.map((s) => [s.labels.pod, s.value]).sort()).toEqual([['a', 1], ['b', 2]]);
  });

  it('a range vector is an error outcome that says what to do', async () => {
    const out = await source().instant('up[5m]', now());
    expect(out).toMatchObject({ kind: 'error', error: expect.stringMatching(/RG_PROM_BAD_QUERY: .*range vector.*rate\(\)/) });
  });

  it('warnings from the API are kept as evidence', async () => {
    proxy.fault = { kind: 'respond', status: 200, body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] }, warnings: ['partial response: store eu-1 down'] }) };
    try {
      expect(await new PrometheusSource(new PrometheusClient({ url: proxy.url })).instant('up', now())).toEqual({ kind: 'empty', warnings: ['partial response: store eu-1 down'] });
    } finally {
      proxy.fault = { kind: 'pass' };
    }
  });
});

describe('failures are explicit, retried only when they may pass', () => {
  const client = (conn: Partial<PrometheusConnection> = {}, sleeps: number[] = []) =>
    new PrometheusClient({ url: proxy.url, retryBudgetMs: 5_000, backoffBaseMs: 10, ...conn }, { sleep: (ms) => (sleeps.push(ms), new Promise((r) => setTimeout(r, Math.min(ms, 20)))) });

  it('a syntax error is bad_data: named, with Prometheus message, never retried', async () => {
    proxy.requests.length = 0;
    const err = await client().query('sum(rate(x[5m])', now()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusError);
    expect(err).toMatchObject({ code: 'RG_PROM_BAD_QUERY', status: 400, attempts: 1 });
    expect((err as Error).message).toMatch(/HTTP 400, bad_data\): .*parse error/);
    expect(proxy.requests).toHaveLength(1);
  });

  it('503 then 200: retried with backoff, honouring Retry-After, and answered', async () => {
    proxy.requests.length = 0;
    proxy.fault = { kind: 'status', status: 503, times: 2, retryAfter: '1' };
    const sleeps: number[] = [];
    try {
      const r = await client({}, sleeps).query('vector(7)', now());
      expect(r.series[0]!.value).toBe(7);
      expect(proxy.requests).toHaveLength(3);
      expect(sleeps).toHaveLength(2);
      expect(sleeps.every((ms) => ms >= 1000)).toBe(true);
    } finally {
      proxy.fault = { kind: 'pass' };
    }
  });

  it('429 asking for more time than the budget: gives up at once and says so', async () => {
    proxy.fault = { kind: 'status', status: 429, times: 5, retryAfter: '30', body: '{"status":"error","errorType":"too_many_requests","error":"slow down"}', contentType: 'application/json' };
    try {
      const err = (await client({ retryBudgetMs: 2_000 }).query('vector(1)', now()).catch((e: unknown) => e)) as PrometheusError;
      expect(err).toMatchObject({ code: 'RG_PROM_UNAVAILABLE', status: 429, attempts: 1 });
      expect(err.message).toMatch(/HTTP 429: slow down; the server asked to wait 30 s/);
    } finally {
      proxy.fault = { kind: 'pass' };
    }
  });

  it('an HTML error page from a proxy: 502 is retried then unavailable; 200 with HTML is a bad response', async () => {
    proxy.fault = { kind: 'status', status: 502, times: 100 };
    try {
      const err = (await client({ retryBudgetMs: 300 }).query('vector(1)', now()).catch((e: unknown) => e)) as PrometheusError;
      expect(err.code).toBe('RG_PROM_UNAVAILABLE');
      expect(err.attempts).toBeGreaterThan(1);
      expect(err.message).toMatch(/HTTP 502 \("502 Service Unavailable"\) \(gave up after \d+ attempts/);
      proxy.fault = { kind: 'respond', status: 200, body: '<html><body>Sign in</body></html>', contentType: 'text/html' };
      const err2 = (await client().query('vector(1)', now()).catch((e: unknown) => e)) as PrometheusError;
      expect(err2).toMatchObject({ code: 'RG_PROM_BAD_RESPONSE', attempts: 1 });
      expect(err2.message).toMatch(/not JSON \(text\/html\): "<html><body>Sign in/);
    } finally {
      proxy.fault = { kind: 'pass' };
    }
  });

  it('a slow proxy: each attempt times out; the outcome is an error, not a value', async () => {
    proxy.fault = { kind: 'delay', ms: 1_500 };
    try {
      const out = await new PrometheusSource(client({ timeoutMs: 200, retryBudgetMs: 500 })).instant('vector(1)', now());
      expect(out).toMatchObject({ kind: 'error', error: expect.stringMatching(/^RG_PROM_TIMEOUT: no answer within the 0.2 s query timeout/) });
    } finally {
      proxy.fault = { kind: 'pass' };
    }
  });

  it('Prometheus stopped (connection refused): an error outcome; back when it returns', async () => {
    const src = source({ retryBudgetMs: 300, backoffBaseMs: 10 });
    expect(values(await src.instant('vector(1)', now()))).toEqual([1]);
    await prom.stop();
    try {
      expect(await src.instant('vector(1)', now())).toMatchObject({ kind: 'error', error: expect.stringMatching(/RG_PROM_UNREACHABLE: cannot connect: ECONNREFUSED/) });
    } finally {
      await prom.restart();
    }
    expect(values(await src.instant('vector(1)', now()))).toEqual([1]);
  });
});

describe('connection settings', () => {
  it('path prefix, extra headers and a bearer token from a file reach the server; POST form bodies', async () => {
    const tokenFile = path.join(tmp(), 'token');
    fs.writeFileSync(tokenFile, 's3cret-token\n');
    proxy.requests.length = 0;
    const c = new PrometheusClient({ url: proxy.url, headers: { 'X-Scope-OrgID': 'voice' }, bearerTokenFile: tokenFile });
    expect((await c.query('vector(3)', now())).series[0]!.value).toBe(3);
    const seen = proxy.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/prometheus/api/v1/query');
    expect(seen.headers['x-scope-orgid']).toBe('voice');
    expect(seen.headers.authorization).toBe('Bearer s3cret-token');
    expect(new URLSearchParams(seen.body).get('query')).toBe('vector(3)');
  });

  it('a token or password file that cannot be read: one immediate error naming the setting, nothing sent, no retries', async () => {
    proxy.requests.length = 0;
    const missing = path.join(tmp(), 'not-mounted');
    for (const [conn, setting] of [[{ bearerTokenFile: missing }, 'PROMETHEUS_BEARER_TOKEN_FILE'], [{ basicAuth: { username: 'guard', passwordFile: missing } }, 'PROMETHEUS_PASSWORD_FILE']] as const) {
      const err = await new PrometheusClient({ url: proxy.url, ...conn }).query('vector(1)', now()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrometheusError);
      expect(err).toMatchObject({ code: 'RG_PROM_CREDENTIALS', attempts: 1, message: expect.stringContaining(`${missing} (ENOENT): check ${setting}`) });
    }
    expect(proxy.requests).toEqual([]);
  });

  it('basic auth; and credentials never appear in errors', async () => {
    proxy.requests.length = 0;
    await new PrometheusClient({ url: proxy.url, basicAuth: { username: 'guard', password: 'pa55word' } }).query('vector(1)', now());
    expect(proxy.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('guard:pa55word').toString('base64')}`);
    const err = await new PrometheusClient({ url: 'http://127.0.0.1:9', bearerToken: 'top-secret', retryBudgetMs: 100 }).query('vector(1)', now()).catch((e: unknown) => e);
    const dump = JSON.stringify(err, Object.getOwnPropertyNames(err)) + String((err as Error).stack) + JSON.stringify((err as Error).cause ?? null);
    expect(dump).not.toContain('top-secret');
  });

  it('a redirect is an error naming where it points (no credentials, no query), not followed', async () => {
    // Pointing back at the proxy itself: a followed redirect would show up as a second request.
    const self = new URL(proxy.url);
    const cases = [
      { location: `http://user:pw@${self.host}/prometheus/api/v1/query?token=x#f`, to: `http://${self.host}/prometheus/api/v1/query`, fix: `set the Prometheus URL to http://${self.host}/prometheus/` },
      { location: '/elsewhere/api/v1/query', to: `http://${self.host}/elsewhere/api/v1/query`, fix: `set the Prometheus URL to http://${self.host}/elsewhere/` },
      { location: '/login', to: `http://${self.host}/login`, fix: 'set the Prometheus URL to where it points' },
    ];
    try {
      for (const c of cases) {
        proxy.requests.length = 0;
        proxy.fault = { kind: 'respond', status: 308, body: '', contentType: 'text/plain', headers: { location: c.location } };
        const err = (await new PrometheusClient({ url: proxy.url, bearerToken: 'top-secret' }).query('vector(1)', now()).catch((e: unknown) => e)) as PrometheusError;
        expect(err).toMatchObject({ code: 'RG_PROM_BAD_RESPONSE', status: 308, attempts: 1 });
        expect(err.message).toBe(
          `HTTP 308: the Prometheus URL redirects to ${c.to}; ${c.fix} (redirects are not followed, so a query and its credentials are never re-sent to another address)`,
        );
        expect(proxy.requests).toHaveLength(1);
      }
      // A 3xx without a Location is not a redirect: its body is judged like any other answer.
      proxy.fault = { kind: 'respond', status: 300, body: '<html>choose</html>', contentType: 'text/html' };
      const err = (await new PrometheusClient({ url: proxy.url }).query('vector(1)', now()).catch((e: unknown) => e)) as PrometheusError;
      expect(err).toMatchObject({ code: 'RG_PROM_BAD_RESPONSE', status: 300 });
      expect(err.message).toMatch(/^HTTP 300 with a body that is not JSON/);
    } finally {
      proxy.fault = { kind: 'pass' };
    }
  });

  it('instant queries ask for an uncompressed answer; range queries for gzip, which comes back gzipped and is decoded', async () => {
    proxy.requests.length = 0;
    const c = new PrometheusClient({ url: proxy.url });
    expect((await c.query('vector(2)', now())).series[0]!.value).toBe(2);
    const t = Math.floor(now() / 1000) * 1000;
    const range = await c.queryRange('vector(2)', t - 60_000, t, 1000);
    expect(range.series[0]!.values).toHaveLength(61);
    expect(proxy.requests.map((r) => [r.headers['accept-encoding'], r.responseEncoding])).toEqual([
      ['identity', undefined],
      ['gzip', 'gzip'],
    ]);
  });

  it('bad URLs are refused with a message that says how to write one', () => {
    expect(() => new PrometheusClient({ url: 'prometheus:9090' })).toThrowError(/must be http:\/\/ or https:\/\//);
    expect(() => new PrometheusClient({ url: 'not a url' })).toThrowError(/is not a URL/);
    expect(() => new PrometheusClient({ url: 'http://u:p@prom:9090' })).toThrowError(/not in the URL/);
  });
});

describe('live scraping', () => {
  it("the source's instant queries see an error-rate change made in the exporter", async () => {
    const q = 'sum(rate(voice_http_requests_total{status=~"5.."}[5s])) / sum(rate(voice_http_requests_total[5s]))';
    const src = source();
    const read = async () => {
      const o = await src.instant(q, now());
      return o.kind === 'series' ? o.series[0]!.value : Number.NaN;
    };
    exporter.errorRatio = 0;
    await waitFor('a healthy error rate from the live exporter', async () => (await read()) === 0, 30_000, 250);
    exporter.errorRatio = 0.5;
    await waitFor('the error rate to rise after the change', async () => (await read()) > 0.3, 30_000, 250);
    exporter.errorRatio = 0;
  }, 70_000);
});

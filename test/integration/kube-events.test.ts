/* eslint-disable @typescript-eslint/no-unsafe-member-access -- the stand-in's objects are raw API JSON */
// Kubernetes Events (issue 23 part 1): the recorder, through the real @kubernetes/client-node, against the stand-in
// extended to the Events API's contract, read back with the real kubectl.
import { describe, expect, it } from 'vitest';
import { KubeEventRecorder, type EventOutcome, type KubeEventSpec } from '../../src/adapters/kubernetes/event-recorder.js';
import { useKubeStandIn } from '../helpers/kube-fixture.js';
import { describedEvents, kubectl, kubectlMinor } from '../helpers/kubectl.js';

const NS = 'voice-production';
const NAME = 'voice-server';
const standIn = useKubeStandIn();

const event = (over: Partial<KubeEventSpec> = {}): KubeEventSpec => ({
  namespace: NS, deployment: NAME, type: 'Warning', reason: 'RollbackStarted', action: 'Rollback', note: 'decision 7: error-rate-critical: 0.08 > 0.05 (immediate); rolling back', ...over,
});

async function setup(o: { timeoutMs?: number; now?: () => number; maxQueued?: number } = {}) {
  const { kube, clients } = await standIn();
  kube.createDeployment(NS, NAME, 'voice-server:1.4.1');
  const outcomes: EventOutcome[] = [];
  const errors: string[] = [];
  const recorder = new KubeEventRecorder(clients(o.timeoutMs), {
    controller: 'rollback-guard.io/rollback-guard',
    instance: 'rollback-guard-7d9f-abcde',
    onOutcome: (x) => outcomes.push(x),
    onError: (err) => errors.push(err.message),
    ...(o.now ? { now: o.now } : {}),
    ...(o.maxQueued ? { maxQueued: o.maxQueued } : {}),
  });
  return { kube, recorder, outcomes, errors };
}

/** A valid events.k8s.io/v1 Event body, as the API server wants it. */
const valid = (over: Record<string, unknown> = {}) => ({
  metadata: { name: 'voice-server.1', namespace: NS },
  eventTime: '2026-12-07T10:00:00.000000Z',
  type: 'Normal',
  reason: 'ReleasePromoted',
  action: 'Promote',
  note: 'kept',
  regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: NAME },
  reportingController: 'rollback-guard.io/rollback-guard',
  reportingInstance: 'pod-1',
  ...over,
});

describe('the stand-in enforces the Events API contract (events.k8s.io/v1 validation)', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a Date with 3 fractional digits is not a MicroTime', { eventTime: '2026-12-07T10:00:00.000Z' }, /eventTime: Invalid value/],
    ['eventTime is required', { eventTime: undefined }, /eventTime: Required value/],
    ['type is Normal or Warning', { type: 'Error' }, /type: Invalid value/],
    ['reportingController is required', { reportingController: undefined }, /reportingController: Required value/],
    ['reportingController is a qualified name', { reportingController: 'rollback guard' }, /reportingController: Invalid value/],
    ['reportingInstance is at most 128 characters', { reportingInstance: 'x'.repeat(129) }, /reportingInstance: .*at most 128/],
    ['reason is required', { reason: '' }, /reason: Required value/],
    ['the note is at most 1024 bytes', { note: 'é'.repeat(513) }, /note: .*at most 1024/],
    ['a series counts at least 2', { series: { count: 1, lastObservedTime: '2026-12-07T10:00:01.000000Z' } }, /series.count: .*at least 2/],
    ['regarding must be in the Event\'s namespace', { regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'other', name: NAME } }, /does not match event.namespace/],
    ['deprecated fields are unset through events.k8s.io', { deprecatedCount: 3 }, /deprecatedCount: .*needs to be unset/],
  ];
  it.each(cases)('%s (422)', async (_what, over, message) => {
    const { kube } = await standIn();
    const res = await fetch(`${kube.url}/apis/events.k8s.io/v1/namespaces/${NS}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(valid(over)) });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toMatch(message);
  });

  it('a valid Event is created (201), its name cannot be reused (409), and only its series may change', async () => {
    const { kube } = await standIn();
    const post = () => fetch(`${kube.url}/apis/events.k8s.io/v1/namespaces/${NS}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(valid()) });
    expect((await post()).status).toBe(201);
    expect((await post()).status).toBe(409);
    const patch = (body: unknown) => fetch(`${kube.url}/apis/events.k8s.io/v1/namespaces/${NS}/events/voice-server.1`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify(body) });
    expect((await patch({ note: 'changed' })).status).toBe(422);
    expect((await patch({ series: { count: 1, lastObservedTime: '2026-12-07T10:00:01.000000Z' } })).status).toBe(422);
    expect((await patch({ series: { count: 2, lastObservedTime: '2026-12-07T10:00:01.000000Z' } })).status).toBe(200);
  });
});

describe('KubeEventRecorder', () => {
  it('records an Event regarding the Deployment (with its uid), and folds a repeat into the first one\'s series', async () => {
    let now = Date.parse('2026-12-07T10:00:00Z');
    const { kube, recorder, outcomes, errors } = await setup({ now: () => now });
    recorder.record(event());
    now += 1000;
    recorder.record(event({ type: 'Normal', reason: 'RollbackComplete', note: 'decision 7: rolled back from revision 2 to 1' }));
    now += 1000;
    recorder.record(event({ type: 'Normal', reason: 'RollbackComplete', note: 'decision 7: rolled back from revision 2 to 1' }));
    now += 1000;
    recorder.record(event({ type: 'Normal', reason: 'RollbackComplete', note: 'decision 7: rolled back from revision 2 to 1' }));
    await recorder.idle();
    expect(errors).toEqual([]);
    expect(outcomes).toEqual(['created', 'created', 'folded', 'folded']);
    const stored = kube.events.all();
    expect(stored).toHaveLength(2);
    expect(stored[0]).toMatchObject({
      type: 'Warning', reason: 'RollbackStarted', action: 'Rollback', eventTime: '2026-12-07T10:00:00.000000Z',
      regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: NAME, uid: kube.deployment(NS, NAME).metadata.uid },
      reportingController: 'rollback-guard.io/rollback-guard', reportingInstance: 'rollback-guard-7d9f-abcde',
    });
    expect(stored[0]!.series).toBeUndefined();
    expect(stored[1]!.series).toEqual({ count: 3, lastObservedTime: '2026-12-07T10:00:03.000000Z' });
    // The Deployment was read once for its uid; Events are written through events.k8s.io/v1 only.
    expect(kube.requests.filter((r) => r.rbac?.resource === 'deployments').length).toBe(1);
    expect(kube.requests.filter((r) => r.rbac?.resource === 'events').map((r) => `${r.rbac!.group}/${r.rbac!.verb}`)).toEqual(['events.k8s.io/create', 'events.k8s.io/create', 'events.k8s.io/patch', 'events.k8s.io/patch']);
  });

  it('a repeat after the series window is a new Event; a series whose Event is gone starts a new one', async () => {
    let now = Date.parse('2026-12-07T10:00:00Z');
    const { kube, recorder, outcomes } = await setup({ now: () => now });
    recorder.record(event());
    now += 6 * 60_000 + 1;
    recorder.record(event());
    await recorder.idle();
    now += 1000;
    kube.fault({ method: 'PATCH', path: /\/events\//, status: 404, times: 1 });
    recorder.record(event());
    await recorder.idle();
    expect(outcomes).toEqual(['created', 'created', 'created']);
    expect(kube.events.all()).toHaveLength(3);
  });

  it('a Deployment name of 253 characters gives a valid Event name (cut where a DNS label may end)', async () => {
    const { kube, recorder, outcomes, errors } = await setup();
    const long = `${'a'.repeat(229)}-${'b'.repeat(23)}`; // cut at 230 characters, it would end in '-'
    kube.createDeployment(NS, long, 'x:1');
    recorder.record(event({ deployment: long }));
    await recorder.idle();
    expect(errors).toEqual([]);
    expect(outcomes).toEqual(['created']);
    expect(String(kube.events.all()[0]!.metadata.name)).toMatch(/^a{229}\.[0-9a-f]+$/);
  });

  it('a callback that throws stops nothing', async () => {
    const { kube, clients } = await standIn();
    kube.createDeployment(NS, NAME, 'voice-server:1.4.1');
    const recorder = new KubeEventRecorder(clients(), { controller: 'rollback-guard.io/rollback-guard', instance: 'pod', onOutcome: () => { throw new Error('metrics broke'); } });
    recorder.record(event());
    recorder.record(event({ reason: 'RollbackComplete', type: 'Normal' }));
    await recorder.idle();
    expect(kube.events.all().map((e) => String(e.reason))).toEqual(['RollbackStarted', 'RollbackComplete']);
  });

  it('a note over 1024 bytes is cut at a character boundary, and the API accepts it', async () => {
    const { kube, recorder, outcomes } = await setup();
    recorder.record(event({ note: `decision 7: ${'é'.repeat(2000)}` }));
    await recorder.idle();
    expect(outcomes).toEqual(['created']);
    const note = String(kube.events.all()[0]!.note);
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
    expect(note).toMatch(/^decision 7: é+\.\.\.$/);
  });

  it('is best-effort: record() returns at once while the API hangs; failures and a full queue are counted, nothing thrown', async () => {
    const { kube, recorder, outcomes, errors } = await setup({ timeoutMs: 300, maxQueued: 2 });
    kube.fault({ path: /\/events$/, hang: true, times: 1 });
    kube.fault({ path: /\/events$/, status: 403, times: 1 });
    for (let i = 0; i < 5; i++) recorder.record(event({ note: `decision ${i}` }));
    // Queued, not sent: record() awaited nothing (the first is in flight, hung); the queue of 2 dropped the oldest.
    expect(outcomes).toEqual(['dropped', 'dropped']);
    expect(kube.events.all()).toEqual([]);
    await recorder.idle();
    // The hung one timed out, the next got 403, the last was created.
    expect(outcomes).toEqual(['dropped', 'dropped', 'failed', 'failed', 'created']);
    expect(errors[0]).toMatch(/create Event on voice-production\/voice-server: no answer from the Kubernetes API within 300 ms/);
    expect(errors[1]).toMatch(/HTTP 403/);
    expect(kube.events.all().map((e) => String(e.note))).toEqual(['decision 4']);
  });
});

describe('kubectl reads them back', () => {
  it('`kubectl describe deployment` lists the Events under the Deployment, a folded repeat as "(x2 over ...)"; `kubectl events --for` too', async () => {
    const { kube, recorder } = await setup();
    kube.createDeployment(NS, 'other', 'other:1');
    recorder.record(event());
    recorder.record(event({ type: 'Normal', reason: 'RollbackComplete', note: 'decision 7: rolled back from revision 2 to 1' }));
    recorder.record(event({ type: 'Normal', reason: 'RollbackComplete', note: 'decision 7: rolled back from revision 2 to 1' }));
    recorder.record(event({ namespace: NS, deployment: 'other', reason: 'RollbackStarted', note: 'decision 9: another Deployment' }));
    await recorder.idle();
    const described = await kubectl(kube.url, NS, ['describe', 'deployment', NAME]);
    expect(describedEvents(described)).toEqual([
      ['Warning', 'RollbackStarted', 'decision 7: error-rate-critical: 0.08 > 0.05 (immediate); rolling back'],
      ['Normal', 'RollbackComplete', 'decision 7: rolled back from revision 2 to 1'],
    ]);
    const minor = await kubectlMinor();
    if (minor >= 26) {
      expect(described).toMatch(/RollbackComplete\s+\S+ \(x2 over \S+\)\s+rollback-guard\.io\/rollback-guard\s+decision 7/);
      const listed = await kubectl(kube.url, NS, ['events', '--for', `deployment/${NAME}`]);
      expect(listed).toMatch(/Warning\s+RollbackStarted\s+Deployment\/voice-server\s+decision 7: error-rate-critical/);
      expect(listed).toMatch(/\(x2 over \S+\)\s+Normal\s+RollbackComplete\s+Deployment\/voice-server/);
      expect(listed).not.toContain('another Deployment');
    } else {
      // kubectl before 1.26 (Debian's kubernetes-client is 1.20) has no `kubectl events`, and its describe shows
      // neither reportingController nor series: the rows above are what it can show.
      expect(minor).toBeGreaterThanOrEqual(20);
    }
  });
});

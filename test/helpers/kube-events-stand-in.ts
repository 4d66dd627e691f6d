/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return --
   Raw API JSON of any shape, as the API server handles it. */
// The Events part of the Kubernetes stand-in: events.k8s.io/v1 create, patch, get and list, with the API server's
// validation (k8s.io/kubernetes pkg/apis/core/validation/events.go: required and immutable fields, length limits,
// series count >= 2, MicroTime), and the same objects served as core/v1 Events (`regarding` -> `involvedObject`,
// `note` -> `message`, `reportingController` -> `reportingComponent`), filtered by `involvedObject.*` field
// selectors: what `kubectl describe` and `kubectl events` read.
import { randomUUID } from 'node:crypto';
import { applyMergePatch } from './json-patch.js';

type Obj = Record<string, any>;

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// A Kubernetes qualified name: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const IMMUTABLE = ['regarding', 'related', 'reason', 'note', 'type', 'eventTime', 'action', 'reportingController', 'reportingInstance'] as const;

export class EventsInvalid extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join(', '));
  }
}

/** The field errors the API server gives an events.k8s.io/v1 Event (empty: valid). */
export function validateEvent(e: Obj, namespace: string): string[] {
  const p: string[] = [];
  const name = String(e.metadata?.name ?? '');
  if (!name || name.length > 253 || !DNS_SUBDOMAIN.test(name)) p.push(`metadata.name: Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain`);
  if (!e.eventTime) p.push('eventTime: Required value');
  else if (!MICRO_TIME.test(String(e.eventTime))) p.push(`eventTime: Invalid value: ${JSON.stringify(e.eventTime)}: not a MicroTime`);
  if (e.type !== 'Normal' && e.type !== 'Warning') p.push(`type: Invalid value: "": has invalid value: ${e.type}`);
  for (const f of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount']) if (e[f]) p.push(`${f}: Invalid value: "": needs to be unset`);
  if (e.deprecatedSource?.component || e.deprecatedSource?.host) p.push('deprecatedSource: Invalid value: "": needs to be unset');
  if ((e.regarding?.namespace ?? '') !== namespace && !(e.regarding?.namespace === undefined && (namespace === 'default' || namespace === 'kube-system'))) {
    p.push(`regarding.namespace: Invalid value: ${JSON.stringify(e.regarding?.namespace ?? '')}: does not match event.namespace`);
  }
  if (!e.reportingController) p.push('reportingController: Required value');
  else if (!QUALIFIED_NAME.test(String(e.reportingController))) p.push(`reportingController: Invalid value: ${JSON.stringify(e.reportingController)}: not a qualified name`);
  if (!e.reportingInstance) p.push('reportingInstance: Required value');
  else if (String(e.reportingInstance).length > 128) p.push('reportingInstance: Invalid value: "": can have at most 128 characters');
  for (const f of ['action', 'reason'] as const) {
    if (!e[f]) p.push(`${f}: Required value`);
    else if (String(e[f]).length > 128) p.push(`${f}: Invalid value: "": can have at most 128 characters`);
  }
  if (e.note !== undefined && Buffer.byteLength(String(e.note)) > 1024) p.push('note: Invalid value: "": can have at most 1024 characters');
  p.push(...seriesProblems(e));
  return p;
}

function seriesProblems(e: Obj): string[] {
  if (!e.series) return [];
  const p: string[] = [];
  if (!(Number(e.series.count) >= 2)) p.push('series.count: Invalid value: "": should be at least 2');
  if (!e.series.lastObservedTime) p.push('series.lastObservedTime: Required value');
  else if (!MICRO_TIME.test(String(e.series.lastObservedTime))) p.push(`series.lastObservedTime: Invalid value: ${JSON.stringify(e.series.lastObservedTime)}: not a MicroTime`);
  return p;
}

/** The core/v1 view of an events.k8s.io/v1 Event, as the API server converts it. */
export function coreView(e: Obj): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: e.metadata,
    involvedObject: e.regarding ?? {},
    ...(e.related ? { related: e.related } : {}),
    reason: e.reason,
    message: e.note ?? '',
    source: e.deprecatedSource ?? {},
    firstTimestamp: e.deprecatedFirstTimestamp ?? null,
    lastTimestamp: e.deprecatedLastTimestamp ?? null,
    count: e.deprecatedCount ?? 0,
    type: e.type,
    eventTime: e.eventTime,
    ...(e.series ? { series: e.series } : {}),
    action: e.action,
    reportingComponent: e.reportingController,
    reportingInstance: e.reportingInstance,
  };
}

/** A core/v1 field selector on `involvedObject.*` (and metadata.name / type / reason), comma-separated equalities. */
function fieldFilter(text: string | null): (core: Obj) => boolean {
  const terms = (text ?? '').split(',').filter(Boolean).map((t) => {
    const m = /^([\w.]+)(==|=|!=)(.*)$/.exec(t);
    if (!m) throw new EventsInvalid([`fieldSelector: unsupported term ${t}`]);
    return { path: m[1]!.split('.'), neg: m[2] === '!=', value: m[3]! };
  });
  return (core) => terms.every((t) => (String(t.path.reduce<any>((o, k) => o?.[k], core) ?? '') === t.value) !== t.neg);
}

export class EventStore {
  private readonly events = new Map<string, Obj>();

  constructor(private readonly nextVersion: () => string) {}

  /** Every stored Event, events.k8s.io/v1 form, oldest first. */
  all(): Obj[] {
    return [...this.events.values()].map((e) => structuredClone(e));
  }

  create(namespace: string, body: Obj): { status: number; object?: Obj; problems?: string[]; exists?: boolean } {
    const problems = validateEvent(body, namespace);
    if (problems.length) return { status: 422, problems };
    const key = `${namespace}/${body.metadata.name}`;
    if (this.events.has(key)) return { status: 409, exists: true };
    const e: Obj = { ...structuredClone(body), apiVersion: 'events.k8s.io/v1', kind: 'Event' };
    e.metadata = { ...e.metadata, namespace, uid: randomUUID(), resourceVersion: this.nextVersion(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    this.events.set(key, e);
    return { status: 201, object: structuredClone(e) };
  }

  /** A merge patch (kubectl's and client-go's strategic merge patch of an Event is the same: no lists in it). */
  patch(namespace: string, name: string, body: unknown): { status: number; object?: Obj; problems?: string[] } {
    const old = this.events.get(`${namespace}/${name}`);
    if (!old) return { status: 404 };
    const next = applyMergePatch(old, body) as Obj;
    const problems = IMMUTABLE.filter((f) => JSON.stringify(next[f]) !== JSON.stringify(old[f])).map((f) => `${f}: Invalid value: field is immutable`);
    if (JSON.stringify(next.series) !== JSON.stringify(old.series)) problems.push(...seriesProblems(next));
    if (problems.length) return { status: 422, problems };
    next.metadata = { ...old.metadata, resourceVersion: this.nextVersion() };
    this.events.set(`${namespace}/${name}`, next);
    return { status: 200, object: structuredClone(next) };
  }

  get(namespace: string, name: string): Obj | undefined {
    const e = this.events.get(`${namespace}/${name}`);
    return e ? structuredClone(e) : undefined;
  }

  /** events.k8s.io/v1 items, or core/v1 ones filtered by a field selector. */
  list(namespace: string | undefined, view: 'events.k8s.io' | 'core', fieldSelector: string | null): Obj[] {
    const inNs = this.all().filter((e) => namespace === undefined || e.metadata.namespace === namespace);
    if (view === 'events.k8s.io') return inNs;
    const keep = fieldFilter(fieldSelector);
    return inNs.map(coreView).filter(keep);
  }
}

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any --
   The stand-in handles raw API JSON of any shape, as the API server does. */
// A loopback stand-in for the parts of the Kubernetes API the guard uses, driven in tests through the real
// @kubernetes/client-node (and kubectl). It enforces the contracts the guard relies on: resourceVersion increments
// on every write; a stale resourceVersion (PUT, or in a patched body) is 409 Conflict; JSON-patch (with `test`) and
// merge-patch semantics; ReplicaSets owned by uid with label selectors; watch streams (that can be dropped);
// Leases with conflicting holders; injected faults (status codes, hung requests). A tiny deployment controller
// assigns revisions the way the real one does: a template change reuses the owned ReplicaSet with the same
// template (bumping its revision) or creates a new one, and the Deployment's revision annotation follows.
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { applyJsonPatch, applyMergePatch, PatchError, type PatchOp } from './json-patch.js';
import { coreView, EventStore } from './kube-events-stand-in.js';

/** Raw API JSON. */
export type Obj = Record<string, any>;

export const REVISION = 'deployment.kubernetes.io/revision';
const HASH = 'pod-template-hash';
const CONTROLLER_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
];

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType?: string;
  body?: unknown;
  /** The status answered (undefined while hung or streaming). */
  status?: number;
  /** The RBAC view of the call: API group ('' = core), resource, verb. Undefined for discovery. */
  rbac?: { group: string; resource: string; verb: string };
}

export interface Fault {
  method?: string;
  path?: RegExp;
  /** Answer with this status (500, 403, ...), or hang: never answer (the client must time out). */
  status?: number;
  hang?: boolean;
  /** How many requests it applies to; default every matching one. */
  times?: number;
}

interface Watcher {
  kind: 'deployments' | 'replicasets' | 'leases';
  /** Undefined: every namespace (a cluster-scoped watch, /apis/apps/v1/deployments). */
  namespace?: string;
  name?: string;
  /** A labelSelector: as the API server does, an object that starts matching is ADDED, one that stops, DELETED. */
  selector?: (labels: Record<string, string>) => boolean;
  res: http.ServerResponse;
}

const kinds = {
  deployments: { group: 'apps', version: 'v1', kind: 'Deployment' },
  replicasets: { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
  leases: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' },
} as const;
type Kind = keyof typeof kinds;

const clone = <T>(v: T): T => structuredClone(v);
const timeText = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const nowText = () => timeText(Date.now());

/** The template as the controller compares it: without the pod-template-hash label. */
export function templateKey(template: Obj): string {
  const t = clone(template);
  if (t.metadata?.labels) delete t.metadata.labels[HASH];
  return stable(t);
}
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Obj)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

export class KubeStandIn {
  /** When new Deployments and ReplicaSets are created (creationTimestamp): set it to make history in the past. */
  clock: () => number = Date.now;
  private server!: http.Server | https.Server;
  private rv = 100;
  private store: Record<Kind, Map<string, Obj>> = { deployments: new Map(), replicasets: new Map(), leases: new Map() };
  private watchers = new Set<Watcher>();
  private faults: Fault[] = [];
  private hung = new Set<http.ServerResponse>();
  private hooks: { method: string; path: RegExp; run: () => void }[] = [];
  readonly requests: RecordedRequest[] = [];
  /** Events (events.k8s.io/v1, also served as core/v1): what `kubectl describe` shows under a Deployment. */
  readonly events = new EventStore(() => String(++this.rv));
  /** The Authorization header of every request, in order (undefined when absent). */
  readonly authorizations: (string | undefined)[] = [];
  private recordOf = new WeakMap<http.ServerResponse, RecordedRequest>();
  /** When false, rollouts do not complete: status stays at the old generation (to test verification). */
  rolloutsComplete = true;
  /** Hung requests whose connection the client closed (it timed out and aborted). */
  abandonedByClient = 0;
  url = '';

  /**
   * Listens on 127.0.0.1. `tls` serves HTTPS with that key and certificate; `token` makes every request need
   * `Authorization: Bearer <token()>`, and answers 401 Unauthorized otherwise, as the API server does.
   */
  async start(opts: { tls?: { key: Buffer | string; cert: Buffer | string }; token?: () => string } = {}): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.authorizations.push(req.headers.authorization);
        if (opts.token && req.headers.authorization !== `Bearer ${opts.token()}`) return this.status(res, 401, 'Unauthorized', 'Unauthorized');
        this.handle(req, res, Buffer.concat(chunks).toString('utf8'));
      });
    };
    this.server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    const hung = [...this.hung];
    this.hung.clear();
    for (const r of hung) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---- test controls ----

  fault(f: Fault): void {
    this.faults.push({ ...f });
  }
  clearFaults(): void {
    this.faults = [];
  }
  /** Runs `run` once, just before the next matching request is handled (e.g. a human edit racing a patch). */
  beforeNext(method: string, path: RegExp, run: () => void): void {
    this.hooks.push({ method, path, run });
  }
  /** Ends every open watch stream, as an API server restart or a load balancer idle timeout does. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
  }
  watchCount(): number {
    return this.watchers.size;
  }

  /** Creates a Deployment (revision 1, one owned ReplicaSet) from a container image. */
  createDeployment(namespace: string, name: string, image: string, opts: { replicas?: number; annotations?: Record<string, string>; container?: string; /** metadata labels besides app */ labels?: Record<string, string> } = {}): Obj {
    const labels = { app: name };
    const d: Obj = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, uid: randomUUID(), generation: 1, creationTimestamp: timeText(this.clock()), labels: { ...labels, ...opts.labels }, annotations: { ...opts.annotations } },
      spec: {
        replicas: opts.replicas ?? 3,
        selector: { matchLabels: labels },
        template: { metadata: { labels: { ...labels } }, spec: { containers: [{ name: opts.container ?? name, image }] } },
        strategy: { type: 'RollingUpdate' },
      },
      status: {},
    };
    this.write('deployments', d);
    this.reconcile(namespace, name);
    return this.deployment(namespace, name);
  }

  /** A release as `kubectl set image` makes it: the container's image changes, the controller adds a revision. */
  setImage(namespace: string, name: string, image: string, extra: { annotations?: Record<string, string> } = {}): Obj {
    return this.edit(namespace, name, (d) => {
      d.spec.template.spec.containers[0].image = image;
      Object.assign(d.metadata.annotations, extra.annotations);
    });
  }

  /** Any server-side edit (a person, GitOps): one write, resourceVersion bumped, controller run. */
  edit(namespace: string, name: string, change: (d: Obj) => void): Obj {
    const d = this.deployment(namespace, name);
    change(d);
    this.updateDeployment(d);
    return this.deployment(namespace, name);
  }

  deployment(namespace: string, name: string): Obj {
    const d = this.store.deployments.get(`${namespace}/${name}`);
    if (!d) throw new Error(`stand-in: no deployment ${namespace}/${name}`);
    return clone(d);
  }
  /** The image of a Deployment's first container: what a release or a rollback changed. */
  image(namespace: string, name: string): string {
    return String(this.deployment(namespace, name).spec.template.spec.containers[0].image);
  }
  replicaSets(namespace: string): Obj[] {
    return [...this.store.replicasets.values()].filter((r) => r.metadata.namespace === namespace).map(clone);
  }
  /** A server-side write to a Lease (another holder taking it), resourceVersion bumped. */
  editLease(namespace: string, name: string, change: (l: Obj) => void): void {
    const l = this.lease(namespace, name);
    if (!l) throw new Error(`stand-in: no lease ${namespace}/${name}`);
    change(l);
    this.write('leases', l);
  }
    lease(namespace: string, name: string): Obj | undefined {
    const l = this.store.leases.get(`${namespace}/${name}`);
    return l ? clone(l) : undefined;
  }
  /** Writes to Deployments (PATCH/PUT) seen so far. */
  deploymentWrites(): RecordedRequest[] {
    return this.requests.filter((r) => r.rbac?.resource === 'deployments' && (r.rbac.verb === 'patch' || r.rbac.verb === 'update'));
  }
  /** Sets a Deployment's metadata labels (watches with a label selector see it arrive or leave). */
  setLabels(namespace: string, name: string, labels: Record<string, string>): Obj {
    const d = this.deployment(namespace, name);
    d.metadata.labels = { ...labels };
    this.write('deployments', d);
    return this.deployment(namespace, name);
  }
  /** Deletes a Deployment (its ReplicaSets stay, as with `kubectl delete --cascade=orphan`). */
  deleteDeployment(namespace: string, name: string): void {
    const d = this.deployment(namespace, name);
    this.store.deployments.delete(`${namespace}/${name}`);
    this.emit('deployments', 'DELETED', d);
  }
  /** Marks the current generation's rollout complete (for rollouts left incomplete with rolloutsComplete = false). */
  completeRollout(namespace: string, name: string): void {
    const d = this.deployment(namespace, name);
    this.markComplete(d);
    this.write('deployments', d);
  }

  // ---- internals ----

  private write(kind: Kind, o: Obj): void {
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    const before = this.store[kind].get(key);
    o.metadata.resourceVersion = String(++this.rv);
    this.store[kind].set(key, clone(o));
    this.emit(kind, before ? 'MODIFIED' : 'ADDED', o, before);
  }

  private emit(kind: Kind, type: string, o: Obj, before?: Obj): void {
    for (const w of this.watchers) {
      if (w.kind !== kind || (w.namespace !== undefined && w.namespace !== o.metadata.namespace) || (w.name && w.name !== o.metadata.name)) continue;
      let sent = type;
      if (w.selector) {
        const now = w.selector(o.metadata.labels ?? {});
        const was = before !== undefined && w.selector(before.metadata.labels ?? {});
        if (type === 'DELETED' ? !now : !now && !was) continue;
        if (type === 'MODIFIED') sent = now && !was ? 'ADDED' : !now ? 'DELETED' : 'MODIFIED';
      }
      w.res.write(JSON.stringify({ type: sent, object: o }) + '\n');
    }
  }

  private updateDeployment(d: Obj): void {
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    const old = this.store.deployments.get(key)!;
    if (stable(old.spec) !== stable(d.spec)) d.metadata.generation = (old.metadata.generation ?? 1) + 1;
    this.write('deployments', d);
    this.reconcile(d.metadata.namespace, d.metadata.name);
  }

  private owned(d: Obj): Obj[] {
    return [...this.store.replicasets.values()].filter((r) => r.metadata.namespace === d.metadata.namespace && r.metadata.ownerReferences?.some((o: Obj) => o.uid === d.metadata.uid && o.controller));
  }

  /** The deployment controller's part that matters here: revisions and ReplicaSets; status when complete. */
  private reconcile(namespace: string, name: string): void {
    const d = this.deployment(namespace, name);
    if (d.spec.paused) return;
    const rss = this.owned(d);
    const key = templateKey(d.spec.template);
    const max = Math.max(0, ...rss.map((r) => Number(r.metadata.annotations?.[REVISION] ?? 0)));
    let rs = rss.find((r) => templateKey(r.spec.template) === key);
    const current = rs && Number(rs.metadata.annotations?.[REVISION]) === max ? max : undefined;
    let revision = current ?? max + 1;
    if (!rs) {
      const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
      const template = clone(d.spec.template);
      template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH]: hash } };
      rs = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${name}-${hash}`,
          namespace,
          uid: randomUUID(),
          creationTimestamp: timeText(this.clock()),
          labels: template.metadata.labels,
          annotations: { [REVISION]: String(revision) },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }],
        },
        spec: { replicas: d.spec.replicas, selector: { matchLabels: { ...d.spec.selector.matchLabels, [HASH]: hash } }, template },
      };
      this.write('replicasets', rs);
    } else if (current === undefined) {
      rs.metadata.annotations[REVISION] = String(revision);
      this.write('replicasets', rs);
    } else revision = current;
    // Like the real controller (SetNewReplicaSetAnnotations), the current ReplicaSet carries the Deployment's
    // annotations, except the controller's own bookkeeping ones.
    const copied = Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !CONTROLLER_ANNOTATIONS.includes(k)));
    const rsNow = this.store.replicasets.get(`${namespace}/${rs.metadata.name}`)!;
    if (Object.entries(copied).some(([k, v]) => rsNow.metadata.annotations?.[k] !== v)) {
      rsNow.metadata.annotations = { ...rsNow.metadata.annotations, ...copied };
      this.write('replicasets', clone(rsNow));
    }
    const changed = d.metadata.annotations?.[REVISION] !== String(revision);
    d.metadata.annotations = { ...d.metadata.annotations, [REVISION]: String(revision) };
    if (changed) {
      d.status.conditions = [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: nowText(), lastTransitionTime: nowText() }];
      if (this.rolloutsComplete) this.markComplete(d);
      else d.status = { ...d.status, observedGeneration: d.metadata.generation - 1, updatedReplicas: 0 };
      this.write('deployments', d);
    } else if (this.rolloutsComplete && d.status.observedGeneration !== d.metadata.generation) {
      this.markComplete(d);
      this.write('deployments', d);
    }
  }

  private markComplete(d: Obj): void {
    const n = d.spec.replicas;
    d.status = { ...d.status, observedGeneration: d.metadata.generation, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type']?.split(';')[0];
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return this.status(res, 400, 'BadRequest', 'body is not JSON');
    }
    // Cluster-scoped list and watch of Deployments (every namespace), as a fleet selected by label uses it.
    const all = url.pathname === '/apis/apps/v1/deployments' ? (['', 'apps', undefined, 'deployments', undefined] as const) : undefined;
    const m = all ?? url.pathname.match(/^\/(?:api\/v1|apis\/(apps|coordination\.k8s\.io)\/v1)\/namespaces\/([^/]+)\/(deployments|replicasets|leases)(?:\/([^/]+))?$/);
    const rec: RecordedRequest = { method, path: url.pathname, query: url.searchParams, ...(contentType ? { contentType } : {}), ...(body !== undefined ? { body } : {}) };
    const ev = url.pathname.match(/^\/(?:api\/v1|apis\/(events\.k8s\.io)\/v1)(?:\/namespaces\/([^/]+))?\/events(?:\/([^/]+))?$/);
    if (ev) rec.rbac = { group: ev[1] ?? '', resource: 'events', verb: method === 'GET' ? (ev[3] ? 'get' : 'list') : ({ PATCH: 'patch', PUT: 'update', POST: 'create', DELETE: 'delete' } as Record<string, string>)[method] ?? method };
    if (m) {
      const verb = method === 'GET' ? (m[4] ? 'get' : url.searchParams.get('watch') === 'true' ? 'watch' : 'list') : ({ PATCH: 'patch', PUT: 'update', POST: 'create', DELETE: 'delete' } as Record<string, string>)[method] ?? method;
      rec.rbac = { group: m[1] ?? '', resource: m[3], verb };
    }
    this.requests.push(rec);
    this.recordOf.set(res, rec);

    for (const h of this.hooks) {
      if (h.method === method && h.path.test(url.pathname)) {
        this.hooks.splice(this.hooks.indexOf(h), 1);
        h.run();
        break;
      }
    }
    const fault = this.faults.find((f) => (!f.method || f.method === method) && (!f.path || f.path.test(url.pathname)) && (f.times ?? 1) > 0);
    if (fault) {
      if (fault.times !== undefined) fault.times--;
      if (fault.hang) {
        this.hung.add(res);
        // The client gave up and closed the connection (while the stand-in is still running).
        res.on('close', () => {
          if (this.hung.delete(res)) this.abandonedByClient++;
        });
        return;
      }
      const reasons: Record<number, string> = { 403: 'Forbidden', 500: 'InternalError', 503: 'ServiceUnavailable', 429: 'TooManyRequests' };
      return this.status(res, fault.status ?? 500, reasons[fault.status ?? 500] ?? 'Unknown', `injected fault ${fault.status}`);
    }

    if (ev) return this.handleEvents(method, ev[1] ?? '', ev[2], ev[3], url.searchParams, contentType, body, res);
    if (!m) return this.discovery(url.pathname, res);
    const group = m[1] ?? '';
    const kind = m[3] as Kind;
    if (kinds[kind].group !== group) return this.status(res, 404, 'NotFound', `the server could not find the requested resource`);
    const ns = m[2];
    const name = m[4];
    if (ns === undefined) return method === 'GET' ? this.list(kind, undefined, url.searchParams, res) : this.status(res, 405, 'MethodNotAllowed', `${method} is not allowed`);
    const key = `${ns}/${name}`;
    const found = name ? this.store[kind].get(key) : undefined;
    try {
      if (method === 'GET' && !name) return this.list(kind, ns, url.searchParams, res);
      if (method === 'GET') return found ? this.send(res, 200, found) : this.notFound(res, kind, name!);
      if (kind === 'leases' && (method === 'POST' || method === 'PUT')) {
        // MicroTime: the real API server rejects a plain Date's 3 fractional digits with 400.
        for (const f of ['renewTime', 'acquireTime']) {
          const v = (body as Obj).spec?.[f];
          if (v !== undefined && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(String(v))) return this.status(res, 400, 'BadRequest', `spec.${f}: ${JSON.stringify(v)} is not a MicroTime (RFC 3339 with 6 fractional digits)`);
        }
      }
      if (method === 'POST' && !name) {
        const o = body as Obj;
        if (this.store[kind].has(`${ns}/${o.metadata?.name}`)) return this.status(res, 409, 'AlreadyExists', `${kind} "${o.metadata?.name}" already exists`);
        o.metadata = { ...o.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: nowText() };
        delete o.metadata.resourceVersion;
        this.write(kind, o);
        return this.send(res, 201, this.store[kind].get(`${ns}/${o.metadata.name}`)!);
      }
      if (!found) return this.notFound(res, kind, name ?? '');
      if (method === 'PUT') {
        const o = body as Obj;
        if (o.metadata?.resourceVersion !== found.metadata.resourceVersion) return this.conflict(res, kind, name!);
        o.metadata = { ...o.metadata, uid: found.metadata.uid, namespace: ns, creationTimestamp: found.metadata.creationTimestamp };
        if (kind === 'deployments') this.updateDeployment(o);
        else this.write(kind, o);
        return this.send(res, 200, this.store[kind].get(key)!);
      }
      if (method === 'PATCH') {
        let patched: Obj;
        if (contentType === 'application/json-patch+json') patched = applyJsonPatch(found, body as PatchOp[]) as Obj;
        else if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') patched = applyMergePatch(found, body) as Obj;
        else return this.status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${contentType}`);
        // A resourceVersion in the patched object is a precondition, as in the real API server.
        if (patched.metadata?.resourceVersion && patched.metadata.resourceVersion !== found.metadata.resourceVersion) return this.conflict(res, kind, name!);
        patched.metadata.uid = found.metadata.uid;
        if (kind === 'deployments') this.updateDeployment(patched);
        else this.write(kind, patched);
        return this.send(res, 200, this.store[kind].get(key)!);
      }
      if (method === 'DELETE') {
        this.store[kind].delete(key);
        this.emit(kind, 'DELETED', found);
        return this.send(res, 200, found);
      }
      return this.status(res, 405, 'MethodNotAllowed', `${method} is not allowed`);
    } catch (err) {
      if (err instanceof PatchError) return this.status(res, 422, 'Invalid', err.message);
      throw err;
    }
  }

  private handleEvents(method: string, group: string, ns: string | undefined, name: string | undefined, q: URLSearchParams, contentType: string | undefined, body: unknown, res: http.ServerResponse): void {
    const invalid = (problems: string[]) => this.status(res, 422, 'Invalid', `Event.events.k8s.io "${(body as Obj)?.metadata?.name ?? name ?? ''}" is invalid: ${problems.join(', ')}`);
    if (method === 'GET' && !name) {
      const view = group === 'events.k8s.io' ? 'events.k8s.io' : 'core';
      return this.send(res, 200, { apiVersion: group ? 'events.k8s.io/v1' : 'v1', kind: 'EventList', metadata: { resourceVersion: String(this.rv) }, items: this.events.list(ns, view, q.get('fieldSelector')) });
    }
    if (ns === undefined) return this.status(res, 405, 'MethodNotAllowed', `${method} is not allowed`);
    // The guard writes through events.k8s.io/v1 only; writes through core/v1 are another contract, not stood in for.
    if (group !== 'events.k8s.io' && method !== 'GET') return this.status(res, 405, 'MethodNotAllowed', 'the stand-in takes Event writes through events.k8s.io/v1 only');
    if (method === 'GET') {
      const e = this.events.get(ns, name!);
      return e ? this.send(res, 200, group ? e : coreView(e)) : this.status(res, 404, 'NotFound', `events.events.k8s.io "${name}" not found`);
    }
    if (method === 'POST' && !name) {
      const r = this.events.create(ns, body as Obj);
      if (r.exists) return this.status(res, 409, 'AlreadyExists', `events.events.k8s.io "${(body as Obj).metadata?.name}" already exists`);
      return r.problems ? invalid(r.problems) : this.send(res, 201, r.object);
    }
    if (method === 'PATCH' && name) {
      if (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json') return this.status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${contentType}`);
      const r = this.events.patch(ns, name, body);
      if (r.status === 404) return this.status(res, 404, 'NotFound', `events.events.k8s.io "${name}" not found`);
      return r.problems ? invalid(r.problems) : this.send(res, 200, r.object);
    }
    return this.status(res, 405, 'MethodNotAllowed', `${method} is not allowed`);
  }

  private list(kind: Kind, ns: string | undefined, q: URLSearchParams, res: http.ServerResponse): void {
    const selector = parseSelector(q.get('labelSelector') ?? '');
    const field = q.get('fieldSelector')?.match(/^metadata\.name=(.+)$/)?.[1];
    if (q.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      const w: Watcher = { kind, res, ...(ns !== undefined ? { namespace: ns } : {}), ...(field ? { name: field } : {}), ...(q.get('labelSelector') ? { selector } : {}) };
      this.watchers.add(w);
      res.on('close', () => this.watchers.delete(w));
      res.flushHeaders();
      return;
    }
    const items = [...this.store[kind].values()].filter((o) => (ns === undefined || o.metadata.namespace === ns) && (!field || o.metadata.name === field) && selector(o.metadata.labels ?? {}));
    const k = kinds[kind];
    this.send(res, 200, { apiVersion: k.group ? `${k.group}/${k.version}` : 'v1', kind: `${k.kind}List`, metadata: { resourceVersion: String(this.rv) }, items });
  }

  private discovery(path: string, res: http.ServerResponse): void {
    const resource = (name: string, kind: string, verbs: string[]) => ({ name, singularName: kind.toLowerCase(), namespaced: true, kind, verbs });
    const docs: Record<string, unknown> = {
      '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
      '/apis': {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: ['apps', 'coordination.k8s.io', 'events.k8s.io'].map((g) => ({ name: g, versions: [{ groupVersion: `${g}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${g}/v1`, version: 'v1' } })),
      },
      '/api/v1': { kind: 'APIResourceList', groupVersion: 'v1', resources: [resource('events', 'Event', ['create', 'get', 'list', 'patch'])] },
      '/apis/events.k8s.io/v1': { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'events.k8s.io/v1', resources: [resource('events', 'Event', ['create', 'get', 'list', 'patch'])] },
      '/apis/apps/v1': {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'apps/v1',
        resources: [resource('deployments', 'Deployment', ['get', 'list', 'watch', 'patch', 'update']), resource('replicasets', 'ReplicaSet', ['get', 'list', 'watch'])],
      },
      '/apis/coordination.k8s.io/v1': { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'coordination.k8s.io/v1', resources: [resource('leases', 'Lease', ['get', 'create', 'update'])] },
    };
    const doc = docs[path];
    if (doc) return this.send(res, 200, doc);
    this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
  }

  private send(res: http.ServerResponse, code: number, o: unknown): void {
    const rec = this.recordOf.get(res);
    if (rec) rec.status = code;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(o));
  }
  private status(res: http.ServerResponse, code: number, reason: string, message: string): void {
    this.send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  }
  private notFound(res: http.ServerResponse, kind: Kind, name: string): void {
    this.status(res, 404, 'NotFound', `${kind} "${name}" not found`);
  }
  private conflict(res: http.ServerResponse, kind: Kind, name: string): void {
    this.status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
  }
}

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, comma-separated. */
function parseSelector(text: string): (labels: Record<string, string>) => boolean {
  const terms = text.split(',').filter(Boolean).map((t) => {
    const m = t.match(/^([^!=]+)(!=|==|=)(.*)$/);
    if (!m) throw new Error(`stand-in: unsupported label selector ${t}`);
    return { key: m[1]!.trim(), neg: m[2] === '!=', value: m[3]!.trim() };
  });
  return (labels) => terms.every((t) => (labels[t.key] === t.value) !== t.neg);
}

// ReleaseSource on the Kubernetes API: per target Deployment, a read, then a watch (field selector on its name),
// restarted when it drops, plus a periodic re-read ("relist") so that a watch that silently misses events cannot
// hide a release. A fleet (`select:`) is one list and one watch per selection, with its label selector, in its
// namespace or cluster-wide: a Deployment that appears (or gains the labels) is reported added, one deleted (or
// that loses them) removed; a relist reconciles what a dropped watch missed. A release is an advance of `deployment.kubernetes.io/revision`; the guard's own rollback is
// recognised by the annotations it wrote (rollback-plan.ts) and reported as kind 'own-rollback'.
import type { KubeConfig, V1Deployment } from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import { SEVERITIES, type Severity } from '../../core/rules-schema.js';
import type { KubernetesError } from '../../errors/kubernetes-error.js';
import type { DeploymentRef } from '../../ports/actuator.js';
import type { ObservedRelease, ReleaseSource, TargetChange } from '../../ports/release-source.js';
import { ANNOTATIONS } from './annotations.js';
import { hashOf, imagesOf, labelSelector, ownedReplicaSets, revisionOf } from './deployment-facts.js';
import { kubeCall, toKubernetesError } from './kube-call.js';
import type { KubeClients } from './kube-client.js';

/** A fleet's Deployments: those matching `labelSelector`, in `namespace` or (undefined) every namespace. */
export interface WatchSelection {
  /** Reported with each change: the rules file whose `select:` this is. */
  id: string;
  namespace?: string;
  labelSelector: string;
}

export interface DeploymentWatcherOptions {
  targets: readonly DeploymentRef[];
  selections?: readonly WatchSelection[];
  /** Re-read every target this often, ms, whatever the watch says. Default 60000. */
  relistMs?: number;
  /** Wait before re-opening a dropped watch, ms. Default 1000. */
  rewatchDelayMs?: number;
  /**
   * When the decision log already knows this revision of this target, its recorded start: an adopted release
   * keeps its original start (and window) across restarts.
   */
  knownRelease?: (ref: DeploymentRef, revision: string) => { startedAt: number; outcome?: string | null } | undefined;
  onError?: (err: KubernetesError) => void;
  now?: () => number;
}

interface TargetState {
  ref: DeploymentRef;
  revision?: string;
  abort?: AbortController;
  rewatch?: NodeJS.Timeout;
}

interface SelectionState {
  sel: WatchSelection;
  abort?: AbortController;
  rewatch?: NodeJS.Timeout;
}

const refKey = (r: DeploymentRef) => `${r.namespace}/${r.deployment}`;

export class DeploymentWatcher implements ReleaseSource {
  private readonly states: TargetState[];
  private readonly selections: SelectionState[];
  /** Selected Deployments, with the selections that match each. */
  private readonly selected = new Map<string, TargetState & { by: Set<string> }>();
  private relist: NodeJS.Timeout | undefined;
  private onRelease: ((r: ObservedRelease) => void | Promise<void>) | undefined;
  private onTarget: ((c: TargetChange) => void | Promise<void>) | undefined;
  private stopped = false;
  private readonly now: () => number;
  /** Serialises the handling of one target's observations (watch events and re-reads interleave). */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly k: KubeClients,
    private readonly o: DeploymentWatcherOptions,
  ) {
    this.states = o.targets.map((ref) => ({ ref }));
    this.selections = (o.selections ?? []).map((sel) => ({ sel }));
    this.now = o.now ?? Date.now;
  }

  async start(onRelease: (r: ObservedRelease) => void | Promise<void>, onTarget?: (c: TargetChange) => void | Promise<void>): Promise<void> {
    this.onRelease = onRelease;
    this.onTarget = onTarget;
    this.stopped = false;
    await Promise.all([...this.states.map((s) => this.reread(s)), ...this.selections.map((s) => this.relistSelection(s))]);
    // Watch, then read again: a release between the first read and the watch opening is not missed.
    for (const s of this.states) await this.watch(s);
    for (const s of this.selections) await this.watchSelection(s);
    await Promise.all([...this.states.map((s) => this.reread(s)), ...this.selections.map((s) => this.relistSelection(s))]);
    await this.chain;
    this.relist = setInterval(() => void Promise.all([...this.states.map((s) => this.reread(s)), ...this.selections.map((s) => this.relistSelection(s))]), this.o.relistMs ?? 60_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.relist);
    for (const s of [...this.states, ...this.selections]) {
      clearTimeout(s.rewatch);
      s.abort?.abort();
    }
    await this.chain;
  }

  /** Lists a selection's Deployments: new ones are added (and observed), ones gone since are removed. */
  private async relistSelection(s: SelectionState): Promise<void> {
    const { namespace, labelSelector, id } = s.sel;
    try {
      const list = await kubeCall(`list deployments ${labelSelector} in ${namespace ?? 'every namespace'}`, this.k.timeoutMs, (options) =>
        namespace !== undefined ? this.k.apps.listNamespacedDeployment({ namespace, labelSelector }, options) : this.k.apps.listDeploymentForAllNamespaces({ labelSelector }, options),
      );
      const listed = new Set(list.items.map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`));
      for (const d of list.items) await this.selectedSeen(s.sel, d, 'read');
      for (const [key, state] of this.selected) if (state.by.has(id) && !listed.has(key)) await this.unselected(s.sel, state.ref);
    } catch (err) {
      this.o.onError?.(toKubernetesError(`list deployments selected by ${labelSelector}`, err));
    }
  }

  private async watchSelection(s: SelectionState): Promise<void> {
    if (this.stopped) return;
    const { namespace, labelSelector } = s.sel;
    const path = namespace !== undefined ? `/apis/apps/v1/namespaces/${namespace}/deployments` : '/apis/apps/v1/deployments';
    const again = (err: unknown) => {
      if (this.stopped) return;
      if (err) this.o.onError?.(toKubernetesError(`watch deployments selected by ${labelSelector}`, err));
      clearTimeout(s.rewatch);
      s.rewatch = setTimeout(() => void this.watchSelection(s).then(() => this.relistSelection(s)), this.o.rewatchDelayMs ?? 1000);
    };
    try {
      s.abort = await new Watch(this.k.access as unknown as KubeConfig).watch(
        path,
        { labelSelector, allowWatchBookmarks: false },
        (type: string, obj: V1Deployment) => {
          const ref = { namespace: obj.metadata?.namespace ?? '', deployment: obj.metadata?.name ?? '' };
          // Deleted, or no longer carrying the labels (the API server sends DELETED to a label-selector watch).
          if (type === 'DELETED') void this.unselected(s.sel, ref);
          else if (type === 'ADDED' || type === 'MODIFIED') void this.selectedSeen(s.sel, obj, 'watch');
        },
        again,
      );
    } catch (err) {
      again(err);
    }
  }

  /** A Deployment a selection matches: added on first sight, then observed like any target. */
  private selectedSeen(sel: WatchSelection, d: V1Deployment, via: 'watch' | 'read'): Promise<void> {
    const ref = { namespace: d.metadata?.namespace ?? '', deployment: d.metadata?.name ?? '' };
    this.chain = this.chain
      .then(async () => {
        if (this.stopped) return;
        let state = this.selected.get(refKey(ref));
        if (!state) this.selected.set(refKey(ref), (state = { ref, by: new Set() }));
        if (!state.by.has(sel.id)) {
          state.by.add(sel.id);
          await this.onTarget?.({ kind: 'added', ...ref, selection: sel.id });
        }
        await this.handle(state, d, via);
      })
      .catch((err: unknown) => this.o.onError?.(toKubernetesError(`observe ${refKey(ref)}`, err)));
    return this.chain;
  }

  private unselected(sel: WatchSelection, ref: DeploymentRef): Promise<void> {
    this.chain = this.chain
      .then(async () => {
        const state = this.selected.get(refKey(ref));
        if (!state?.by.delete(sel.id)) return;
        if (state.by.size === 0) this.selected.delete(refKey(ref));
        await this.onTarget?.({ kind: 'removed', ...ref, selection: sel.id });
      })
      .catch((err: unknown) => this.o.onError?.(toKubernetesError(`observe ${refKey(ref)}`, err)));
    return this.chain;
  }

  private async reread(s: TargetState): Promise<void> {
    try {
      const d = await kubeCall(`get deployment ${s.ref.namespace}/${s.ref.deployment}`, this.k.timeoutMs, (options) => this.k.apps.readNamespacedDeployment({ name: s.ref.deployment, namespace: s.ref.namespace }, options));
      await this.observe(s, d, 'read');
    } catch (err) {
      this.o.onError?.(toKubernetesError(`re-read ${s.ref.namespace}/${s.ref.deployment}`, err));
    }
  }

  private async watch(s: TargetState): Promise<void> {
    if (this.stopped) return;
    const path = `/apis/apps/v1/namespaces/${s.ref.namespace}/deployments`;
    const again = (err: unknown) => {
      if (this.stopped) return;
      if (err) this.o.onError?.(toKubernetesError(`watch ${s.ref.namespace}/${s.ref.deployment}`, err));
      clearTimeout(s.rewatch);
      // Re-read on every restart: whatever happened while the watch was down is seen now.
      s.rewatch = setTimeout(() => void this.watch(s).then(() => this.reread(s)), this.o.rewatchDelayMs ?? 1000);
    };
    try {
      // Watch reads only getCurrentCluster() and applyToFetchOptions() of its KubeConfig: KubeAccess has both.
      s.abort = await new Watch(this.k.access as unknown as KubeConfig).watch(
        path,
        { fieldSelector: `metadata.name=${s.ref.deployment}`, allowWatchBookmarks: false },
        (type: string, obj: V1Deployment) => {
          if (type === 'ADDED' || type === 'MODIFIED') void this.observe(s, obj, 'watch');
        },
        again,
      );
    } catch (err) {
      again(err);
    }
  }

  forget(ref: DeploymentRef): void {
    const key = `${ref.namespace}/${ref.deployment}`;
    for (const s of [...this.states, ...this.selected.values()]) if (`${s.ref.namespace}/${s.ref.deployment}` === key) delete s.revision;
  }

  private observe(s: TargetState, d: V1Deployment, via: 'watch' | 'read'): Promise<void> {
    this.chain = this.chain.then(() => this.handle(s, d, via)).catch((err: unknown) => this.o.onError?.(toKubernetesError(`observe ${s.ref.namespace}/${s.ref.deployment}`, err)));
    return this.chain;
  }

  private async handle(s: TargetState, d: V1Deployment, via: 'watch' | 'read'): Promise<void> {
    const revision = revisionOf(d);
    if (revision === undefined || this.stopped) return;
    const previous = s.revision;
    if (previous !== undefined && Number(revision) <= Number(previous)) return;
    s.revision = revision;
    // Seen advancing on the watch: it starts now. Found by a read (start-up, or the watch was down): adopted,
    // starting when the decision log says, else when the controller last progressed it.
    const adopted = previous === undefined || via === 'read';
    const known = adopted ? this.o.knownRelease?.(s.ref, revision) : undefined;
    const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing')?.lastUpdateTime;
    const kind = (await this.isOwnRollback(d, previous)) ? 'own-rollback' : 'release';
    // Taken after the await and handed over at once: a release is never seen before an instant yet given to the
    // daemon after it (that instant's tick would skip it, and a replay would not).
    const startedAt = known?.startedAt ?? (adopted && progressing ? new Date(progressing).getTime() : this.now());
    const ann = d.metadata?.annotations ?? {};
    const { severity, problem } = parseSeverity(ann[ANNOTATIONS.severity]);
    const release: ObservedRelease = { ...s.ref, revision, images: imagesOf(d.spec?.template), severity, startedAt, kind, adopted };
    const matchLabels = d.spec?.selector?.matchLabels;
    if (matchLabels && Object.keys(matchLabels).length) release.selector = { ...matchLabels };
    if (ann[ANNOTATIONS.changeCause] !== undefined) release.changeCause = ann[ANNOTATIONS.changeCause];
    if (ann[ANNOTATIONS.releaseManager]) release.manager = ann[ANNOTATIONS.releaseManager];
    if (ann[ANNOTATIONS.tracking]) release.tracking = ann[ANNOTATIONS.tracking];
    if (problem) release.severityProblem = problem;
    if (known?.outcome) release.ended = known.outcome;
    await this.onRelease?.(release);
  }

  /**
   * The advance is the guard's own rollback when its annotations say it reverted away from the revision seen
   * before. Without a revision seen before (start-up), when the ReplicaSet now current is the one it reverted to.
   */
  private async isOwnRollback(d: V1Deployment, previous: string | undefined): Promise<boolean> {
    const ann = d.metadata?.annotations ?? {};
    const from = ann[ANNOTATIONS.fromRevision];
    if (from === undefined) return false;
    if (previous !== undefined) return from === previous;
    const toHash = ann[ANNOTATIONS.toHash];
    if (!toHash) return false;
    const namespace = d.metadata?.namespace ?? '';
    const list = await kubeCall(`list replicasets in ${namespace}`, this.k.timeoutMs, (options) => this.k.apps.listNamespacedReplicaSet({ namespace, labelSelector: labelSelector(d) }, options));
    const current = ownedReplicaSets(d, list.items).find((rs) => revisionOf(rs) === revisionOf(d));
    return current !== undefined && hashOf(current) === toHash;
  }
}

export function parseSeverity(value: string | undefined): { severity: Severity; problem?: string } {
  if (value === undefined) return { severity: 'minor' };
  if ((SEVERITIES as readonly string[]).includes(value)) return { severity: value as Severity };
  return { severity: 'minor', problem: `annotation ${ANNOTATIONS.severity}: ${JSON.stringify(value)} is not one of ${SEVERITIES.join(', ')}; treated as minor` };
}

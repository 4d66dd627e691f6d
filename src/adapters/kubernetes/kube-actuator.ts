// The Actuator on the Kubernetes API: read, plan (rollback-plan.ts), patch with a resourceVersion precondition.
// A 409 means a person or GitOps changed the Deployment since it was read: re-read and decide again, never
// overwrite. Refusals and API failures are outcomes, not exceptions: the caller logs and pages them.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
// Deep imports: the package's index loads the whole client (see kube-api.ts).
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import type { KubernetesError } from '../../errors/kubernetes-error.js';
import type { Actuator, DeploymentRef, RollbackOutcome, RollbackRequest, VerifyOutcome } from '../../ports/actuator.js';
import { labelSelector } from './deployment-facts.js';
import { kubeCall } from './kube-call.js';
import type { KubeClients } from './kube-client.js';
import { planRollback, type RollbackStrategy } from './rollback-plan.js';

export const GUARD_NAME = 'rollback-guard';

export interface KubeActuatorOptions {
  /** Rollback strategy per target (`namespace/deployment`); default undo. */
  strategyFor?: (ref: DeploymentRef) => RollbackStrategy;
  /** Automatic rollbacks already done for a release (decision log); a second one is refused. */
  automaticRollbacks?: (releaseId: number) => number;
  /** False when this replica is not the leader: it then never patches. Default: always true (single replica, CLI). */
  mayAct?: () => boolean;
  /** Attempts for conflicts and transient errors (5xx, timeouts, unreachable). Default 3. */
  attempts?: number;
  /** Pause between attempts, ms. Default 500. */
  retryDelayMs?: number;
  /** Poll interval of verifyRollout, ms. Default 2000. */
  pollMs?: number;
  now?: () => number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KubeActuator implements Actuator {
  constructor(
    private readonly k: KubeClients,
    private readonly options: KubeActuatorOptions = {},
  ) {}

  async rollback(req: RollbackRequest): Promise<RollbackOutcome> {
    const name = `${req.namespace}/${req.deployment}`;
    const attempts = this.options.attempts ?? 3;
    const strategy = this.options.strategyFor?.(req) ?? { kind: 'undo' };
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(this.options.retryDelayMs ?? 500);
      let deployment: V1Deployment;
      let replicaSets: V1ReplicaSet[];
      try {
        deployment = await this.read(req);
        replicaSets = await this.replicaSets(req.namespace, deployment);
      } catch (err) {
        last = (err as Error).message;
        if (transient(err)) continue;
        return { kind: 'failed', reason: last };
      }
      const plan = planRollback(deployment, replicaSets, req, strategy, new Date((this.options.now ?? Date.now)()).toISOString());
      if (plan.kind === 'skipped') return plan;
      if (plan.kind === 'refused') return plan;
      if (req.by === GUARD_NAME && req.releaseId !== undefined && (this.options.automaticRollbacks?.(req.releaseId) ?? 0) > 0) {
        return { kind: 'refused', code: 'already-rolled-back', reason: `${name}: release ${req.releaseId} was already rolled back automatically once; a second automatic rollback needs a person` };
      }
      const { fromRevision, toRevision, images } = plan;
      if (req.dryRun) return { kind: 'would-roll-back', fromRevision, toRevision, images };
      if (this.options.mayAct && !this.options.mayAct()) {
        return { kind: 'refused', code: 'not-leader', reason: `${name}: this replica is not the leader (or lost the lease); the leader acts` };
      }
      try {
        await kubeCall(`patch deployment ${name}`, this.k.timeoutMs, (options) =>
          this.k.apps.patchNamespacedDeployment({ name: req.deployment, namespace: req.namespace, body: plan.ops }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch, options)),
        );
        return { kind: 'rolled-back', fromRevision, toRevision, images };
      } catch (err) {
        last = (err as Error).message;
        // 409: changed since read. 422 from the image `test` op: the image changed. Both: re-read, re-decide.
        const code = (err as KubernetesError).status;
        if (code === 409 || code === 422 || transient(err)) continue;
        return { kind: 'failed', reason: last };
      }
    }
    return { kind: 'failed', reason: `${name}: gave up after ${attempts} attempts; last: ${last}` };
  }

  async verifyRollout(ref: DeploymentRef, timeoutMs: number): Promise<VerifyOutcome> {
    const deadline = (this.options.now ?? Date.now)() + timeoutMs;
    let seen = 'nothing read yet';
    for (;;) {
      try {
        const d = await this.read(ref);
        const want = d.spec?.replicas ?? 1;
        const s = d.status ?? {};
        const gen = d.metadata?.generation ?? 0;
        seen = `generation ${gen}, observed ${s.observedGeneration ?? 0}; replicas ${s.replicas ?? 0}, updated ${s.updatedReplicas ?? 0}, available ${s.availableReplicas ?? 0} of ${want}`;
        const stuck = s.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
        if (stuck) return { kind: 'failed', detail: `progress deadline exceeded: ${stuck.message ?? ''}; ${seen}` };
        if ((s.observedGeneration ?? 0) >= gen && (s.updatedReplicas ?? 0) === want && (s.availableReplicas ?? 0) === want && (s.replicas ?? 0) === want) {
          return { kind: 'complete', detail: seen };
        }
      } catch (err) {
        seen = `last read failed: ${(err as Error).message}`;
      }
      if ((this.options.now ?? Date.now)() >= deadline) return { kind: 'failed', detail: `not complete within ${timeoutMs} ms: ${seen}` };
      await sleep(this.options.pollMs ?? 2000);
    }
  }

  private read(ref: DeploymentRef): Promise<V1Deployment> {
    return kubeCall(`get deployment ${ref.namespace}/${ref.deployment}`, this.k.timeoutMs, (options) => this.k.apps.readNamespacedDeployment({ name: ref.deployment, namespace: ref.namespace }, options));
  }

  private async replicaSets(namespace: string, d: V1Deployment): Promise<V1ReplicaSet[]> {
    const list = await kubeCall(`list replicasets in ${namespace}`, this.k.timeoutMs, (options) => this.k.apps.listNamespacedReplicaSet({ namespace, labelSelector: labelSelector(d) }, options));
    return list.items;
  }
}

function transient(err: unknown): boolean {
  const e = err as KubernetesError;
  return e.code === 'RG_K8S_TIMEOUT' || e.code === 'RG_K8S_UNREACHABLE' || (e.code === 'RG_K8S_API' && (e.status ?? 0) >= 500) || e.status === 429;
}

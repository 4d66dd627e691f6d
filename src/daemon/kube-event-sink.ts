// Guard events as Kubernetes Events on the Deployments they concern (the vocabulary is kube-event-vocabulary.ts).
// Never in the way: the recorder only queues, so a slow or failing API server delays no decision, page or rollback.
import type { KubeEventSpec } from '../adapters/kubernetes/event-recorder.js';
import type { GuardEvent, GuardEventSink } from './guard-events.js';
import { kubeEventsOf, rulesRejectedEvents, verdictEvent, type KubeEventOf } from './kube-event-vocabulary.js';

export class KubeEventSink implements GuardEventSink {
  constructor(
    private readonly recorder: { record(event: KubeEventSpec): void },
    /** The Deployments being judged now (`namespace/name`): a guard-wide event is recorded on each. */
    private readonly active: () => readonly string[],
    /** Only the leader records: every replica sees releases start, one decides. */
    private readonly leading: () => boolean = () => true,
  ) {}

  emit(e: GuardEvent): void {
    this.send(kubeEventsOf(e, this.active()));
  }

  verdict(target: string, v: Parameters<typeof verdictEvent>[1]): void {
    this.send([verdictEvent(target, v)]);
  }

  rulesRejected(error: string): void {
    this.send(rulesRejectedEvents(this.active(), error));
  }

  private send(events: readonly KubeEventOf[]): void {
    if (!this.leading()) return;
    for (const { target, ...e } of events) {
      const slash = target.indexOf('/');
      this.recorder.record({ namespace: target.slice(0, slash), deployment: target.slice(slash + 1), ...e });
    }
  }
}

// The daemon's Prometheus metrics (prom-client), on its own registry so tests can run several daemons.
import client from 'prom-client';
import { DEFAULT_SAMPLER_OFF_MS, registerEventLoopDelay } from './event-loop-delay.js';

const PREFIX = 'rollback_guard_';

export class DaemonMetrics {
  readonly registry = new client.Registry();
  readonly ticks = new client.Counter({ name: 'rollback_guard_ticks_total', help: 'Evaluation ticks run', registers: [this.registry] });
  readonly tickDuration = new client.Histogram({
    name: 'rollback_guard_tick_duration_seconds',
    help: 'Time one tick took: queries, engine, decision log, actions',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly overruns = new client.Counter({ name: 'rollback_guard_tick_overruns_total', help: 'Ticks skipped because the previous one was still running', registers: [this.registry] });
  readonly queryErrors = new client.Counter({ name: 'rollback_guard_query_errors_total', help: 'Rule evaluations whose query failed, by rule', labelNames: ['rule'], registers: [this.registry] });
  readonly ruleState = new client.Gauge({ name: 'rollback_guard_rule_state', help: 'Rule state: 0 inactive, 1 pending, 2 firing', labelNames: ['target', 'rule'], registers: [this.registry] });
  readonly ruleValue = new client.Gauge({ name: 'rollback_guard_rule_value', help: 'Last value of the rule query (absent when it had none)', labelNames: ['target', 'rule'], registers: [this.registry] });
  readonly ruleThreshold = new client.Gauge({ name: 'rollback_guard_rule_threshold', help: 'What the rule compared its value with at the last evaluation (a baseline or stable Deployment resolved; an SLO pair: its burn rate; a judge: its marginal score); absent when unknown', labelNames: ['target', 'rule'], registers: [this.registry] });
  readonly ruleHoldProgress = new client.Gauge({ name: 'rollback_guard_rule_hold_progress', help: 'How far into its `for` a breach is: 0 inactive, the elapsed fraction while pending, 1 firing', labelNames: ['target', 'rule'], registers: [this.registry] });
  readonly lastDecision = new client.Gauge({ name: 'rollback_guard_last_decision_timestamp_seconds', help: 'When the last decision of each action was taken for a target', labelNames: ['target', 'action'], registers: [this.registry] });
  readonly decisions = new client.Counter({ name: 'rollback_guard_decisions_total', help: 'Decisions by action and mode', labelNames: ['action', 'mode'], registers: [this.registry] });
  readonly rollbacks = new client.Counter({ name: 'rollback_guard_rollbacks_total', help: 'Rollbacks attempted, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly notifications = new client.Gauge({ name: 'rollback_guard_notifications', help: 'Notifications in the outbox by channel and status (pending, delivered, dead)', labelNames: ['channel', 'status'], registers: [this.registry] });
  readonly outboxDepth = new client.Gauge({ name: 'rollback_guard_outbox_depth', help: 'Notifications waiting to be delivered', registers: [this.registry] });
  readonly activeReleases = new client.Gauge({ name: 'rollback_guard_active_releases', help: 'Releases being guarded', registers: [this.registry] });
  readonly blind = new client.Gauge({ name: 'rollback_guard_blind', help: '1 while Prometheus cannot be read for longer than the blind threshold', registers: [this.registry] });
  readonly rulesReloadRejected = new client.Gauge({ name: 'rollback_guard_rules_reload_rejected', help: '1 while the rules files on disk were rejected at the last reload (the previous rules are in force)', registers: [this.registry] });
  readonly kubeEvents = new client.Counter({ name: 'rollback_guard_kube_events_total', help: 'Kubernetes Events by outcome: created, folded (a repeat counted in a series), failed (the API call failed), dropped (the queue was full)', labelNames: ['outcome'], registers: [this.registry] });
  readonly decisionLogWritable = new client.Gauge({ name: 'rollback_guard_decision_log_writable', help: '0 while the decision log cannot be written (disk full, read-only): nothing is decided meanwhile', registers: [this.registry] });
  readonly leader = new client.Gauge({ name: 'rollback_guard_leader', help: '1 when this replica is the leader', registers: [this.registry] });
  readonly lastSuccessfulPoll = new client.Gauge({ name: 'rollback_guard_last_successful_poll_timestamp_seconds', help: 'When a tick last read Prometheus without errors', registers: [this.registry] });

  private readonly stopEventLoopDelay: () => void;

  constructor() {
    // prom-client's event-loop delay sampler would wake the process every 10 ms: it is kept from firing, and its
    // gauges are replaced by ones sampled every 100 ms (ADR 0009).
    client.collectDefaultMetrics({ register: this.registry, prefix: PREFIX, eventLoopMonitoringPrecision: DEFAULT_SAMPLER_OFF_MS });
    this.stopEventLoopDelay = registerEventLoopDelay(this.registry, PREFIX);
  }

  /** Stops the event-loop delay sampler (a timer). */
  close(): void {
    this.stopEventLoopDelay();
  }
}

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call --
   Rendered Kubernetes objects are raw JSON of any shape. */
// What can be checked of the Helm chart without helm: values against values.schema.json (ajv), the objects the
// templates make (rendered by test/helpers/helm-subset.ts, not helm) validated as Kubernetes objects
// (kubernetes-models), the PrometheusRule checked by the real promtool, the rules ConfigMap by our parser, and the
// env the Deployment sets against the settings the daemon reads.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { RBAC_RULES } from '../../src/adapters/kubernetes/rbac.js';
import { parseRules } from '../../src/core/parse-rules.js';
import { gridStep } from '../../src/core/interval-grid.js';
import { SETTINGS } from '../../src/daemon/daemon-config.js';
import { HelmSubset } from '../helpers/helm-subset.js';
import { binary } from '../helpers/prometheus-server.js';
import { useTempDir } from '../helpers/temp-dir.js';

const CHART = 'helm/rollback-guard';
const tmp = useTempDir();
const defaults = YAML.parse(fs.readFileSync(`${CHART}/values.yaml`, 'utf8')) as Record<string, unknown>;
const schema = JSON.parse(fs.readFileSync(`${CHART}/values.schema.json`, 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const helm = new HelmSubset(CHART);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Helm's merge of user values over the chart's defaults (maps merge, everything else replaces). */
function merge(base: unknown, over: unknown): unknown {
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Obj = { ...(base as Obj) };
    for (const [k, v] of Object.entries(over as Obj)) out[k] = merge(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}
const example = (f: string) => merge(defaults, YAML.parse(fs.readFileSync(`${CHART}/examples/${f}`, 'utf8'))) as Obj;

async function validateObject(o: Obj): Promise<void> {
  const models: Record<string, string> = {
    Deployment: 'apps/v1/Deployment',
    Service: 'v1/Service',
    ServiceAccount: 'v1/ServiceAccount',
    ConfigMap: 'v1/ConfigMap',
    PersistentVolumeClaim: 'v1/PersistentVolumeClaim',
    Role: 'rbac.authorization.k8s.io/v1/Role',
    RoleBinding: 'rbac.authorization.k8s.io/v1/RoleBinding',
    ClusterRole: 'rbac.authorization.k8s.io/v1/ClusterRole',
    ClusterRoleBinding: 'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
    PodDisruptionBudget: 'policy/v1/PodDisruptionBudget',
  };
  const model = models[o.kind as string];
  if (!model) throw new Error(`no model to validate a ${String(o.kind)}`);
  const mod = (await import(`kubernetes-models/${model}`)) as Record<string, new (o: Obj) => { validate(): void }>;
  new mod[o.kind as string]!(o).validate();
}

describe('values.schema.json', () => {
  it('accepts the default values and every documented example', () => {
    expect(validate(defaults), JSON.stringify(validate.errors)).toBe(true);
    for (const f of fs.readdirSync(`${CHART}/examples`)) expect(validate(example(f)), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
  });

  it.each([
    ['an unknown key', { replicas: 2 }, /must NOT have additional properties/],
    ['zero replicas', { replicaCount: 0 }, /must be >= 1/],
    ['two replicas without leader election', { replicaCount: 2 }, /must be equal to constant/],
    ['a bad duration', { blindAfter: 'two minutes' }, /must match pattern/],
    ['a Prometheus URL without scheme', { prometheus: { url: 'prometheus:9090' } }, /must match pattern/],
    ['a bad pull policy', { image: { pullPolicy: 'Sometimes' } }, /must be equal to one of the allowed values/],
    ['an interval the daemon cannot schedule', { interval: '7s' }, /must match pattern/],
    ['a zero blindAfter', { blindAfter: '0s' }, /must match pattern/],
    ['a zero query timeout', { prometheus: { timeout: '0m' } }, /must match pattern/],
  ])('rejects %s', (_n, over, message) => {
    expect(validate(merge(defaults, over))).toBe(false);
    expect(JSON.stringify(validate.errors)).toMatch(message);
  });

  it('accepts what the daemon accepts: silent logs, positive durations, intervals on the clock grid (the same set as `run`)', () => {
    for (const over of [{ logLevel: 'silent' }, { blindAfter: '90s' }, { blindAfter: '1m30s' }, { prometheus: { timeout: '500ms' } }]) expect(validate(merge(defaults, over)), JSON.stringify(over)).toBe(true);
    // Every spelling in one unit, up to two hours: accepted exactly when `run` can schedule it.
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    for (const [unit, ms] of Object.entries(units)) {
      for (let n = unit === 'ms' ? 250 : 1; n * ms <= 7_200_000; n += unit === 'ms' ? 250 : 1) {
        const schedulable = gridStep(n * ms) !== undefined;
        expect(validate(merge(defaults, { interval: `${n}${unit}` })), `${n}${unit}`).toBe(schedulable);
      }
    }
  });
});

describe('the objects the templates make', () => {
  it('default values: the expected objects, each a valid Kubernetes object', async () => {
    const objs = helm.render(defaults) as Obj[];
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
    for (const o of objs) await validateObject(o);
  });

  it('HA example: lease RBAC, ServiceMonitor and PrometheusRule (no PodDisruptionBudget: the replicas share a node); valid objects', async () => {
    const objs = helm.render(example('ha-with-monitoring.yaml')) as Obj[];
    expect(objs.map((o) => o.kind).sort()).toEqual(['Deployment', 'PersistentVolumeClaim', 'PrometheusRule', 'Role', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    for (const o of objs.filter((x) => !['ServiceMonitor', 'PrometheusRule'].includes(x.kind as string))) await validateObject(o);
    const role = objs.find((o) => o.kind === 'Role')!;
    expect(role.rules).toContainEqual({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] });
    const deploy = objs.find((o) => o.kind === 'Deployment')!;
    expect(deploy.spec.template.spec.volumes).toContainEqual({ name: 'rules', configMap: { name: 'voice-server-rollback-rules' } });
    // Both replicas mount the one ReadWriteOnce claim: required on one node, or the second never starts.
    const pvc = objs.find((o) => o.kind === 'PersistentVolumeClaim')!;
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(deploy.spec.template.spec.affinity).toEqual({
      podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: deploy.spec.selector.matchLabels } }] },
    });
    // One replica, or no shared volume: no such rule; an affinity of the user's own replaces it.
    const single = (helm.render(defaults) as Obj[]).find((o) => o.kind === 'Deployment')!;
    expect(single.spec.template.spec.affinity).toBeUndefined();
    const own = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['ops'] }] }] } } };
    const custom = (helm.render({ ...example('ha-with-monitoring.yaml'), affinity: own }) as Obj[]).find((o) => o.kind === 'Deployment')!;
    expect(custom.spec.template.spec.affinity).toEqual(own);
  });

  it('a node drain completes (issue 19): co-located replicas get no PodDisruptionBudget; spread ones keep one that a drain honours', () => {
    const ha = helm.render(example('ha-with-monitoring.yaml')) as Obj[];
    expect(ha.map((o) => o.kind)).not.toContain('PodDisruptionBudget');
    expect(drain(ha)).toEqual({ completed: true, evicted: 2 });
    // The budget the chart rendered before: with both replicas required on the node, the second eviction waits for
    // a replica that can never start elsewhere. This is what the drain model must catch.
    const pdb = { kind: 'PodDisruptionBudget', spec: { minAvailable: 1 } };
    expect(drain([...ha, pdb])).toEqual({ completed: false, evicted: 1 });
    // Without persistence (or with an affinity of one's own) the replicas may spread: the budget is kept, and honoured.
    const spread = helm.render({ ...example('ha-with-monitoring.yaml'), persistence: { enabled: false } }) as Obj[];
    expect(spread.find((o) => o.kind === 'PodDisruptionBudget')?.spec).toMatchObject({ minAvailable: 1 });
    expect(drain(spread)).toEqual({ completed: true, evicted: 2 });
    const own = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['ops'] }] }] } } };
    expect((helm.render({ ...example('ha-with-monitoring.yaml'), affinity: own }) as Obj[]).map((o) => o.kind)).toContain('PodDisruptionBudget');
  });

  it("the Role grants exactly the API calls the guard's Kubernetes code declares (rbac.ts), leases only with leader election", () => {
    const triples = (rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[]) =>
      rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))).sort();
    const declared = triples([...RBAC_RULES]);
    const role = (values: Obj) => (helm.render(values) as Obj[]).find((o) => o.kind === 'Role')!.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    expect(triples(role(example('ha-with-monitoring.yaml')))).toEqual(declared);
    expect(triples(role(defaults))).toEqual(declared.filter((t) => !t.startsWith('coordination.k8s.io/')));
    // Kubernetes Events off: no events rule, and the daemon is told so.
    const off = helm.render({ ...defaults, kubeEvents: { enabled: false } }) as Obj[];
    expect(triples(off.find((o) => o.kind === 'Role')!.rules as never)).toEqual(declared.filter((t) => !t.startsWith('coordination.k8s.io/') && !t.startsWith('events.k8s.io/')));
    const env = (objs: Obj[]) => ((objs.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }).spec.template.spec.containers[0]!.env).find((e) => e.name === 'ROLLBACK_GUARD_KUBE_EVENTS')?.value;
    expect([env(helm.render(defaults) as Obj[]), env(off)]).toEqual(['true', 'false']);
  });

  it('fleets (README: RBAC): rbac.namespace puts the Role beside the Deployments, rbac.clusterWide renders a ClusterRole; the Lease keeps its Role', async () => {
    const triples = (rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[]) =>
      rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))).sort();
    const declared = triples([...RBAC_RULES]);
    const ha = example('ha-with-monitoring.yaml');
    const rbacObjects = (values: Obj) => (helm.render(values) as Obj[]).filter((o) => /Role/.test(o.kind as string));
    const summary = (objs: Obj[]) => objs.map((o) => `${o.kind} ${(o.metadata as Obj).namespace ?? '(cluster)'}${o.rules ? ` ${triples(o.rules as never).join(' ')}` : ''}`).sort();

    const elsewhere = rbacObjects({ ...ha, rbac: { namespace: 'shop', clusterWide: false } });
    expect(summary(elsewhere)).toEqual([
      `Role shop ${declared.filter((t) => !t.startsWith('coordination')).join(' ')}`,
      `Role voice-production ${declared.filter((t) => t.startsWith('coordination')).join(' ')}`,
      'RoleBinding shop',
      'RoleBinding voice-production',
    ]);
    const cluster = rbacObjects({ ...ha, rbac: { namespace: '', clusterWide: true } });
    expect(summary(cluster)).toEqual([
      `ClusterRole (cluster) ${declared.filter((t) => !t.startsWith('coordination')).join(' ')}`,
      'ClusterRoleBinding (cluster)',
      `Role voice-production ${declared.filter((t) => t.startsWith('coordination')).join(' ')}`,
      'RoleBinding voice-production',
    ]);
    for (const o of [...elsewhere, ...cluster]) await validateObject(o);
    // Without leader election, cluster-wide is the ClusterRole and its binding only.
    expect(summary(rbacObjects({ ...defaults, rbac: { namespace: '', clusterWide: true } }))).toEqual([`ClusterRole (cluster) ${declared.filter((t) => !t.startsWith('coordination')).join(' ')}`, 'ClusterRoleBinding (cluster)']);
  });

  it('the PrometheusRule passes the real `promtool check rules`', () => {
    const rule = (helm.render(example('ha-with-monitoring.yaml')) as Obj[]).find((o) => o.kind === 'PrometheusRule')!;
    const file = path.join(tmp(), 'rules.yml');
    fs.writeFileSync(file, YAML.stringify({ groups: rule.spec.groups }));
    const r = spawnSync(binary('promtool'), ['check', 'rules', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 7 rules found');
  });

  it("every alert of the PrometheusRule links a runbook in the README (issue 23), on metrics the daemon exports", () => {
    const rule = (helm.render(example('ha-with-monitoring.yaml')) as Obj[]).find((o) => o.kind === 'PrometheusRule')!;
    const alerts = rule.spec.groups.flatMap((g: Obj) => g.rules) as Obj[];
    const readme = fs.readFileSync('README.md', 'utf8');
    const anchors = new Set([...readme.matchAll(/^### (Runbook: .+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const exported = fs.readFileSync('src/daemon/metrics.ts', 'utf8');
    for (const a of alerts) {
      const url = a.annotations.runbook_url as string;
      expect(url, a.alert as string).toBe(`https://github.com/rollback-guard/rollback-guard/blob/main/README.md#runbook-${(a.alert as string).toLowerCase()}`);
      expect(anchors, `README has no "### Runbook: ${a.alert}"`).toContain(`runbook-${(a.alert as string).toLowerCase()}`);
      for (const m of (a.expr as string).match(/rollback_guard_\w+/g) ?? []) expect(exported, `${a.alert} uses ${m}`).toContain(`'${m}'`);
    }
    expect(anchors.size).toBe(alerts.length);
    const moved = (helm.render({ ...example('ha-with-monitoring.yaml'), prometheusRule: { enabled: true, runbookBaseUrl: 'https://wiki.example.com/guard' } }) as Obj[]).find((o) => o.kind === 'PrometheusRule')!;
    expect(moved.spec.groups[0].rules[0].annotations.runbook_url).toBe('https://wiki.example.com/guard#runbook-rollbackguarddown');
  });

  it('the pod is locked down: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp, probes', () => {
    const deploy = (helm.render(defaults) as Obj[]).find((o) => o.kind === 'Deployment')!;
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c.livenessProbe.httpGet.path).toBe('/health');
    expect(c.readinessProbe.httpGet.path).toBe('/ready');
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  it('without persistence the decision log is an emptyDir (documented as losing history)', () => {
    const objs = helm.render(example('dry-run-no-persistence.yaml')) as Obj[];
    expect(objs.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    const vol = objs.find((o) => o.kind === 'Deployment')!.spec.template.spec.volumes.find((v: Obj) => v.name === 'data');
    expect(vol).toEqual({ name: 'data', emptyDir: {} });
  });

  it('the rules ConfigMap holds a valid rules file', () => {
    const cm = (helm.render(defaults) as Obj[]).find((o) => o.kind === 'ConfigMap')!;
    expect(parseRules(cm.data['rules.yaml'] as string, 'configmap').rules.map((r) => r.name)).toEqual(['error-rate-critical', 'complete-outage']);
  });

  it('every environment variable the Deployment sets is one the daemon reads', () => {
    const deploy = (helm.render(example('ha-with-monitoring.yaml')) as Obj[]).find((o) => o.kind === 'Deployment')!;
    const names = (deploy.spec.template.spec.containers[0].env as Obj[]).map((e) => e.name as string);
    const kube = fs.existsSync('src/adapters/kubernetes') ? fs.readdirSync('src/adapters/kubernetes').map((f) => `src/adapters/kubernetes/${f}`) : [];
    const src = ['src/daemon/daemon-config.ts', 'src/daemon/run-daemon.ts', 'src/cli/prometheus-options.ts', ...kube, 'src/cli/commands/run.ts']
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n') + JSON.stringify(SETTINGS);
    const unknown = names.filter((n) => !src.includes(n));
    expect(unknown).toEqual([]);
  });
});

/**
 * `kubectl drain` of the node the replicas run on, as the eviction API decides it: an eviction is refused while it
 * would leave fewer ready replicas than the budget's minAvailable; an evicted replica is rescheduled at once on
 * another node, unless a required pod affinity ties it to a node where the other replicas are (the drained node
 * is cordoned, so it stays Pending). With no replica placed on another node the drain retries until it gives up.
 */
function drain(objs: Obj[]): { completed: boolean; evicted: number } {
  const deploy = objs.find((o) => o.kind === 'Deployment')!;
  const minAvailable = (objs.find((o) => o.kind === 'PodDisruptionBudget')?.spec.minAvailable as number | undefined) ?? 0;
  const colocated = deploy.spec.template.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution !== undefined;
  const replicas = deploy.spec.replicas as number;
  // Worst case for a budget: every replica on the drained node (always so when co-located).
  const pods = Array.from({ length: replicas }, () => ({ node: 'drained', ready: true }));
  let evicted = 0;
  for (let attempt = 0; attempt < 10 && pods.some((p) => p.node === 'drained'); attempt++) {
    const victim = pods.find((p) => p.node === 'drained')!;
    const ready = pods.filter((p) => p.ready).length;
    if (ready - 1 < minAvailable) continue; // 429 Too Many Requests: the budget refuses; kubectl retries
    evicted++;
    const othersElsewhere = pods.some((p) => p !== victim && p.node !== 'drained' && p.ready);
    // Rescheduled: anywhere when free to spread; next to a replica on another node when tied to it.
    if (!colocated || othersElsewhere) Object.assign(victim, { node: 'other', ready: true });
    else Object.assign(victim, { node: 'pending', ready: false });
  }
  return { completed: !pods.some((p) => p.node === 'drained'), evicted };
}
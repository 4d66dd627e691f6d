// Checks that span several fields of a rules file (unique names, one threshold side, baselines that exist,
// a ladder that climbs). They run on the raw parsed YAML even when the schema found other problems, so one
// `check` run reports everything at once. JSON Schema cannot express them; they live here instead.
import { PLACEHOLDERS, unknownPlaceholders } from './bind-ruleset.js';
import { formatDuration, parseDuration } from './duration.js';

export interface CrossIssue {
  path: (string | number)[];
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function crossFieldIssues(raw: unknown): CrossIssue[] {
  const issues: CrossIssue[] = [];
  if (!isObj(raw)) return issues;
  const baselines = isObj(raw.baselines) ? Object.keys(raw.baselines) : [];
  const rules = Array.isArray(raw.rules) ? (raw.rules as unknown[]) : [];
  const seen = new Map<string, number>();

  rules.forEach((rule, i) => {
    if (!isObj(rule)) return;
    if (typeof rule.name === 'string') {
      const first = seen.get(rule.name);
      if (first !== undefined) issues.push({ path: ['rules', i, 'name'], message: `duplicate rule name "${rule.name}" (rule #${first + 1} has it already); names must be unique` });
      else seen.set(rule.name, i);
    }
    const sides = (['above', 'below'] as const).filter((k) => rule[k] !== undefined);
    const kinds = (['query', 'slo', 'judge'] as const).filter((k) => rule[k] !== undefined);
    if (kinds.length !== 1) {
      issues.push({ path: ['rules', i], message: kinds.length === 0 ? 'has none of `query:`, `slo:` or `judge:`; give one (a threshold rule, an SLO burn-rate rule or a canary judge)' : `has ${kinds.map((k) => `\`${k}:\``).join(' and ')}; give one of them` });
    } else if (kinds[0] !== 'query') {
      for (const side of sides) issues.push({ path: ['rules', i, side], message: `\`${side}:\` applies to a \`query:\` rule; ${kinds[0] === 'slo' ? 'an `slo:` rule breaches on its windows\' `burnRate`' : 'a `judge:` rule breaches on its score (`judge.marginal`)'}` });
      if (kinds[0] === 'slo' && isObj(rule.slo)) issues.push(...sloIssues(rule.slo, ['rules', i, 'slo']));
      if (kinds[0] === 'judge' && isObj(rule.judge)) issues.push(...judgeIssues(rule.judge, ['rules', i, 'judge'], typeof raw.interval === 'string' ? raw.interval : '15s'));
    } else if (sides.length !== 1) {
      issues.push({
        path: ['rules', i],
        message: sides.length === 0 ? 'has neither `above:` nor `below:`; give exactly one threshold' : 'has both `above:` and `below:`; give exactly one threshold',
      });
    }
    for (const side of sides) {
      const t = rule[side];
      if (isObj(t) && typeof t.baseline === 'string' && !baselines.includes(t.baseline)) {
        issues.push({
          path: ['rules', i, side, 'baseline'],
          message: `\`${side}.baseline\` refers to "${t.baseline}", which is not defined under \`baselines:\` (${baselines.length ? `defined: ${baselines.join(', ')}` : 'none are defined'})`,
        });
      }
    }
    if (isObj(rule.when) && [rule.when.above, rule.when.below].filter((v) => v !== undefined).length !== 1) {
      issues.push({ path: ['rules', i, 'when'], message: '`when:` needs exactly one of `above:` or `below:`' });
    }
    placeholderIssues(issues, ['rules', i, 'query'], rule.query);
    if (isObj(rule.slo)) for (const part of ['errors', 'good', 'total']) placeholderIssues(issues, ['rules', i, 'slo', part], rule.slo[part], ['window']);
    if (isObj(rule.judge) && Array.isArray(rule.judge.metrics)) (rule.judge.metrics as unknown[]).forEach((m, j) => isObj(m) && placeholderIssues(issues, ['rules', i, 'judge', 'metrics', j, 'query'], m.query));
    if (isObj(rule.when)) placeholderIssues(issues, ['rules', i, 'when', 'query'], rule.when.query);
  });
  if (isObj(raw.baselines)) for (const [name, b] of Object.entries(raw.baselines)) if (isObj(b)) placeholderIssues(issues, ['baselines', name, 'query'], b.query);
  const summary = isObj(raw.notifications) && isObj(raw.notifications.summary) ? raw.notifications.summary : {};
  for (const [name, q] of Object.entries(summary)) if (isObj(q)) placeholderIssues(issues, ['notifications', 'summary', name, 'query'], q.query);

  const given = (['target', 'targets', 'select'] as const).filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    issues.push({ path: [], message: given.length === 0 ? 'no Deployment to guard: give `target:` (one Deployment), `targets:` (a list) or `select:` (a fleet, by label)' : `has ${given.map((k) => `\`${k}:\``).join(' and ')}; give one of them` });
  }
  if (isObj(raw.select) && isObj(raw.select.rollback) && raw.select.rollback.container !== undefined && raw.select.rollback.strategy !== 'previous-version-annotation') {
    issues.push({ path: ['select', 'rollback', 'container'], message: '`rollback.container` only applies to `strategy: previous-version-annotation`' });
  }
  const listed = Array.isArray(raw.targets) ? (raw.targets as unknown[]) : raw.target !== undefined ? [raw.target] : [];
  listed.forEach((t, i) => {
    if (!isObj(t) || typeof t.compareTo !== 'string') return;
    const where = Array.isArray(raw.targets) ? ['targets', i, 'compareTo'] : ['target', 'compareTo'];
    if (t.compareTo === t.deployment) issues.push({ path: where, message: '`compareTo` names the Deployment itself; name its stable counterpart' });
    else if (!listed.some((o) => isObj(o) && o.namespace === t.namespace && o.deployment === t.compareTo)) {
      issues.push({ path: where, message: `\`compareTo: ${t.compareTo}\` is not one of this file's targets in namespace ${String(t.namespace)}; list the stable Deployment under \`targets:\` too (it is watched for its pod selector, and guarded)` });
    }
  });
  if (Array.isArray(raw.targets)) {
    const names = new Map<string, number>();
    (raw.targets as unknown[]).forEach((t, i) => {
      if (!isObj(t)) return;
      const key = `${String(t.namespace)}/${String(t.deployment)}`;
      const first = names.get(key);
      if (first !== undefined) issues.push({ path: ['targets', i], message: `\`targets[${i}]\` repeats ${key} (targets[${first}] has it already)` });
      else names.set(key, i);
    });
  }
  for (const [i, t] of (Array.isArray(raw.targets) ? (raw.targets as unknown[]) : [raw.target]).entries()) {
    if (!isObj(t) || !isObj(t.rollback)) continue;
    if (t.rollback.container !== undefined && t.rollback.strategy !== 'previous-version-annotation') {
      issues.push({ path: raw.targets ? ['targets', i, 'rollback', 'container'] : ['target', 'rollback', 'container'], message: '`rollback.container` only applies to `strategy: previous-version-annotation`' });
    }
  }

  const ladder = Array.isArray(raw.escalation) ? (raw.escalation as unknown[]) : [];
  let prev: { level: number; after: number } | undefined;
  ladder.forEach((step, i) => {
    if (!isObj(step) || typeof step.level !== 'number' || typeof step.after !== 'string') return;
    const after = parseDuration(step.after);
    if (after === undefined) return;
    if (i === 0 && after !== 0) issues.push({ path: ['escalation', 0, 'after'], message: '`escalation[0].after`: the first step is the page itself, so it must be 0m' });
    if (prev && step.level <= prev.level) issues.push({ path: ['escalation', i, 'level'], message: `\`escalation[${i}].level\`: levels must increase (level ${step.level} follows level ${prev.level})` });
    if (prev && after <= prev.after) issues.push({ path: ['escalation', i, 'after'], message: `\`escalation[${i}].after\` must be later than the previous step's` });
    prev = { level: step.level, after };
  });
  const notifications = isObj(raw.notifications) ? raw.notifications : {};
  const names = new Set(rules.filter(isObj).map((r) => r.name));
  if (Array.isArray(notifications.outageRules)) {
    (notifications.outageRules as unknown[]).forEach((name, i) => {
      if (typeof name === 'string' && !names.has(name)) issues.push({ path: ['notifications', 'outageRules', i], message: `\`notifications.outageRules\` names "${name}", which is not a rule in this file` });
    });
  }
  if (Array.isArray(notifications.levels)) {
    const levels = new Set<unknown>();
    (notifications.levels as unknown[]).forEach((l, i) => {
      if (!isObj(l)) return;
      if (levels.has(l.level)) issues.push({ path: ['notifications', 'levels', i, 'level'], message: `\`notifications.levels\`: level ${String(l.level)} is listed twice; list each level once` });
      levels.add(l.level);
    });
  }
  if (typeof notifications.approvalLevel === 'number' && notifications.approvalLevel > 1) {
    // Nobody listed high enough: every approval would be refused, found only at 3 a.m. with a page waiting.
    const need = notifications.approvalLevel;
    const approvers = isObj(notifications.approvers) ? Object.values(notifications.approvers) : [];
    if (!approvers.some((a) => isObj(a) && typeof a.level === 'number' && a.level >= need)) {
      issues.push({ path: ['notifications', 'approvalLevel'], message: `\`notifications.approvalLevel\` is ${need}, but no approver is listed at level ${need} or higher, so nobody could approve a considered rollback; give approvers a level, e.g. \`approvers: { U024BE7LH: { name: alice, level: ${need} } }\`` });
    }
  }
  if (isObj(notifications.email)) issues.push(...emailIssues(notifications.email));
  return issues;
}

/**
 * Known SMTP ports and the TLS modes they speak: 465 is TLS from the first byte, 587 and 25 start in plain text
 * (upgraded with STARTTLS, or not). A mismatch would only show as a 10 s timeout at every send.
 */
const PORT_TLS: Record<number, { allowed: readonly string[]; name: string; use: string }> = {
  465: { allowed: ['implicit'], name: 'SMTPS (TLS from the first byte)', use: '`tls: implicit`' },
  587: { allowed: ['starttls', 'none'], name: 'submission (plain text, upgraded with STARTTLS)', use: '`tls: starttls`' },
  25: { allowed: ['starttls', 'none'], name: 'SMTP (plain text, upgraded with STARTTLS)', use: '`tls: starttls` (or `none`)' },
};

/** `notifications.email`: all of `to`, `from` and `smtp`, or none; a port that matches its TLS mode. */
function emailIssues(email: Record<string, unknown>): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const path = ['notifications', 'email'];
  const hasTo = Array.isArray(email.to) && email.to.length > 0;
  if (hasTo) {
    if (email.from === undefined) issues.push({ path, message: '`notifications.email` has `to:` but no `from:`; give the sender, e.g. `from: rollback-guard <rollback-guard@example.com>`' });
    if (email.smtp === undefined) issues.push({ path, message: '`notifications.email` has `to:` but no `smtp:`; give the server, e.g. `smtp: { host: smtp.example.com }`' });
  } else if (email.from !== undefined || email.smtp !== undefined) {
    issues.push({ path, message: '`notifications.email` has no `to:`, so nobody would be emailed; list the recipients, or remove `notifications.email`' });
  }
  const smtp = isObj(email.smtp) ? email.smtp : undefined;
  const tls = typeof smtp?.tls === 'string' ? smtp.tls : 'starttls';
  const known = typeof smtp?.port === 'number' ? PORT_TLS[smtp.port] : undefined;
  if (known && !known.allowed.includes(tls)) {
    issues.push({ path: [...path, 'smtp', 'port'], message: `\`notifications.email.smtp\`: port ${String(smtp!.port)} is ${known.name}, but \`tls\` is ${tls}; set ${known.use}, or give the port your server uses for ${tls}` });
  }
  return issues;
}

/** A `{{name}}` in a query that is not one of the per-target placeholders (a typo would reach Prometheus). */
function placeholderIssues(issues: CrossIssue[], path: (string | number)[], query: unknown, also: string[] = []): void {
  if (typeof query !== 'string') return;
  for (const name of unknownPlaceholders(query).filter((n) => !also.includes(n))) {
    issues.push({ path, message: `\`{{${name}}}\` is not a placeholder; a query can name its target with ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}${also.length ? `, and its window with ${also.map((p) => `{{${p}}}`).join(', ')}` : ' (`{{window}}` belongs in an `slo:` rule\'s parts)'}` });
  }
}

const WINDOW = /\{\{\s*window\s*\}\}/;

/** `slo:`: errors or good, with total; each part reads `{{window}}`; every pair's long window longer than its short. */
function sloIssues(slo: Obj, path: (string | number)[]): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const parts = (['errors', 'good'] as const).filter((k) => slo[k] !== undefined);
  if (parts.length !== 1) issues.push({ path, message: parts.length === 0 ? '`slo:` needs `errors:` (bad requests) or `good:` (good requests), besides `total:`' : '`slo:` has both `errors:` and `good:`; give one of them' });
  for (const k of ['errors', 'good', 'total'] as const) {
    if (typeof slo[k] === 'string' && !WINDOW.test(slo[k])) issues.push({ path: [...path, k], message: `\`slo.${k}\` does not use \`{{window}}\`, so every window would read the same range; write its range as \`[{{window}}]\`, e.g. \`rate(requests_total[{{window}}])\`` });
  }
  const seen = new Map<string, number>();
  (Array.isArray(slo.windows) ? (slo.windows as unknown[]) : []).forEach((w, j) => {
    if (!isObj(w) || typeof w.long !== 'string' || typeof w.short !== 'string') return;
    const long = parseDuration(w.long);
    const short = parseDuration(w.short);
    if (long === undefined || short === undefined) return;
    if (short <= 0) issues.push({ path: [...path, 'windows', j, 'short'], message: `\`slo.windows[${j}].short\` must be longer than 0s` });
    else if (long <= short) issues.push({ path: [...path, 'windows', j, 'long'], message: `\`slo.windows[${j}]\`: the long window (${w.long}) must be longer than the short one (${w.short}); the workbook makes the short window 1/12 of the long` });
    const key = `${w.long}-${w.short}`;
    const first = seen.get(key);
    if (first !== undefined) issues.push({ path: [...path, 'windows', j], message: `\`slo.windows[${j}]\` repeats the ${w.long}/${w.short} pair of \`slo.windows[${first}]\`; each pair is its own rule (named <rule>:${key}), so list it once` });
    else seen.set(key, j);
  });
  return issues;
}

/** `judge:`: a step that divides the window and is a multiple of `interval`; marginal <= pass; unique metric names. */
function judgeIssues(judge: Obj, path: (string | number)[], interval: string): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const window = parseDuration(typeof judge.window === 'string' ? judge.window : '10m');
  const step = parseDuration(typeof judge.step === 'string' ? judge.step : '1m');
  const every = parseDuration(interval);
  if (window !== undefined && step !== undefined && every !== undefined) {
    if (step <= 0) issues.push({ path: [...path, 'step'], message: '`judge.step` must be longer than 0s' });
    else if (window < step || window % step !== 0) issues.push({ path: [...path, 'window'], message: `\`judge.window\` (${formatDuration(window)}) must be a whole number of steps (\`judge.step\`: ${formatDuration(step)})` });
    else if (every > 0 && step % every !== 0) issues.push({ path: [...path, 'step'], message: `\`judge.step\` (${formatDuration(step)}) must be a multiple of \`interval\` (${formatDuration(every)}), so every sample falls on an instant replay reads too` });
  }
  const pass = typeof judge.pass === 'number' ? judge.pass : 95;
  const marginal = typeof judge.marginal === 'number' ? judge.marginal : 75;
  if (marginal > pass) issues.push({ path: [...path, 'marginal'], message: `\`judge.marginal\` (${marginal}) is above \`judge.pass\` (${pass}); a score passes at \`pass\` and is marginal from \`marginal\` up to it` });
  const names = new Map<string, number>();
  (Array.isArray(judge.metrics) ? (judge.metrics as unknown[]) : []).forEach((m, j) => {
    if (!isObj(m) || typeof m.name !== 'string') return;
    const first = names.get(m.name);
    if (first !== undefined) issues.push({ path: [...path, 'metrics', j, 'name'], message: `duplicate metric name "${m.name}" (\`judge.metrics[${first}]\` has it already); names must be unique` });
    else names.set(m.name, j);
  });
  return issues;
}

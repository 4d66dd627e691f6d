// Schema migrations of the decision log, applied in order; PRAGMA user_version holds how many have run.
// Never edit a shipped migration: append a new one. Names are chosen to be read with plain `sqlite3`.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE rules_files (
    hash        TEXT PRIMARY KEY,          -- sha256 of the rules file, as in decisions.rules_hash
    file        TEXT NOT NULL,             -- path it was read from, first time seen
    content     TEXT NOT NULL,             -- the file exactly as it was
    first_seen  TEXT NOT NULL              -- RFC 3339 UTC
  );

  CREATE TABLE releases (
    id                 INTEGER PRIMARY KEY,
    namespace          TEXT NOT NULL,
    deployment         TEXT NOT NULL,
    started_at         TEXT NOT NULL,      -- RFC 3339 UTC
    severity           TEXT NOT NULL,      -- hotfix | minor | major | infrastructure
    window_seconds     INTEGER NOT NULL,
    window_ends_at     TEXT NOT NULL,
    source             TEXT NOT NULL,      -- replay:recording | live | ...
    rules_hash         TEXT NOT NULL REFERENCES rules_files(hash),
    outcome            TEXT,               -- NULL while guarded; rolled-back | promoted | superseded | abandoned
    ended_at           TEXT,
    last_evaluated_at  TEXT,
    engine_state       TEXT NOT NULL       -- JSON: each rule's state, hold clock and open page (resumed on restart)
  );
  CREATE INDEX releases_target ON releases(namespace, deployment, started_at);

  CREATE TABLE baselines (
    release_id  INTEGER NOT NULL REFERENCES releases(id),
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    value       REAL,                      -- NULL when there was no usable value; see status
    status      TEXT NOT NULL,             -- value | no-data | several-series | error
    detail      TEXT,
    PRIMARY KEY (release_id, name)
  );

  CREATE TABLE evaluations (
    id          INTEGER PRIMARY KEY,
    release_id  INTEGER NOT NULL REFERENCES releases(id),
    at          TEXT NOT NULL,             -- RFC 3339 UTC
    rule        TEXT NOT NULL,
    verdict     TEXT NOT NULL,             -- breach | pass | no-data | no-traffic | no-baseline | error
    state       TEXT NOT NULL,             -- inactive | pending | firing, after this evaluation
    value       REAL,
    threshold   REAL,
    labels      TEXT,                      -- JSON labels of the series the value came from
    detail      TEXT                       -- why there was no value (error message, empty result, ...)
  );
  -- (release_id, at) rather than (release_id, rule, at): appends stay at the end of the index, 4x faster to
  -- write, and one release's evaluations are a small range to filter by rule.
  CREATE INDEX evaluations_release_at ON evaluations(release_id, at);

  CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,       -- the id people quote: explain <id>, approve <id>
    release_id  INTEGER NOT NULL REFERENCES releases(id),
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,             -- rollback | page | escalate | resolve | promote
    tier        TEXT,                      -- immediate | considered; NULL for promote
    rule        TEXT,
    level       INTEGER,                   -- escalation level, for page / escalate / resolve
    mode        TEXT NOT NULL,             -- enforce | page-only | shadow (shadow: logged, never acted on)
    value       REAL,
    threshold   REAL,
    rules_hash  TEXT NOT NULL,
    evidence    TEXT NOT NULL              -- JSON: query, value, threshold, baseline, series, hold, ...
  );
  CREATE INDEX decisions_release_at ON decisions(release_id, at);
  CREATE INDEX decisions_at ON decisions(at);
  `,
  `
  -- Why a release ended without a decision of its own (a newer release replaced it while it was guarded).
  ALTER TABLE releases ADD COLUMN outcome_note TEXT;
  `,
  // Kubernetes: every rollback attempt (automatic, manual, dry run, refused) and its verification; and what a
  // release was, so a restarted guard recognises a release it already knew (adoption keeps the original start).
  `
  CREATE TABLE rollbacks (
    id                   INTEGER PRIMARY KEY,
    decision_id          INTEGER REFERENCES decisions(id),  -- the rollback decision; NULL for a manual rollback
    release_id           INTEGER REFERENCES releases(id),   -- the release reverted; NULL when not guarded
    namespace            TEXT NOT NULL,
    deployment           TEXT NOT NULL,
    requested_at         TEXT NOT NULL,                     -- ISO 8601 UTC
    finished_at          TEXT NOT NULL,
    by                   TEXT NOT NULL,                     -- rollback-guard, or the person (manual / approval)
    reason               TEXT NOT NULL,
    strategy             TEXT NOT NULL,                     -- undo | previous-version-annotation
    dry_run              INTEGER NOT NULL,                  -- 1: decided and logged, nothing patched
    outcome              TEXT NOT NULL,                     -- rolled-back | would-roll-back | skipped | refused | failed
    from_revision        TEXT,                              -- deployment.kubernetes.io/revision reverted from
    to_revision          TEXT,                              -- revision whose template was restored ('new' if none had it)
    images               TEXT,                              -- JSON list of the images restored
    refusal_code         TEXT,                              -- paused | guard-paused | ping-pong | gitops-reapplied | ...
    detail               TEXT,                              -- why refused, skipped or failed
    verification         TEXT,                              -- NULL until verified; rollback-complete | rollback-failed
    verification_detail  TEXT,                              -- what was seen: generations, replicas
    verified_at          TEXT
  );
  CREATE INDEX rollbacks_target ON rollbacks(namespace, deployment, requested_at);
  CREATE INDEX rollbacks_release ON rollbacks(release_id);

  ALTER TABLE releases ADD COLUMN revision TEXT;      -- deployment.kubernetes.io/revision of the release
  ALTER TABLE releases ADD COLUMN images TEXT;        -- JSON list of container images
  ALTER TABLE releases ADD COLUMN change_cause TEXT;  -- kubernetes.io/change-cause
  CREATE INDEX releases_revision ON releases(namespace, deployment, revision);
  `,
  `
  -- Paging (issue 5): every notification is written here before it is sent (the outbox), and approvals of
  -- considered decisions. Secrets are never stored: PagerDuty routing keys appear by name only.
  CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    key              TEXT NOT NULL UNIQUE,  -- release-<id>:<what>: planning the same event twice stores it once
    created_at       TEXT NOT NULL,
    release_id       INTEGER REFERENCES releases(id),  -- NULL for notify --test
    decision_id      INTEGER REFERENCES decisions(id),
    channel          TEXT NOT NULL,         -- pagerduty | slack
    action           TEXT NOT NULL,         -- trigger | acknowledge | resolve (pagerduty); post | update (slack)
    target           TEXT NOT NULL,         -- routing-key name (pagerduty) or Slack channel
    dedup_key        TEXT NOT NULL,         -- one incident per (release, rule)
    message_key      TEXT,                  -- slack: the message an update edits (its post has the same key)
    level            INTEGER,               -- escalation level paged, 1-4
    payload          TEXT NOT NULL,         -- JSON of the planned notification
    fallback_for     INTEGER REFERENCES outbox(id),  -- this reports that notification's permanent failure
    status           TEXT NOT NULL,         -- pending | delivered | dead
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,                  -- why the last attempt failed (dead: why it was given up)
    delivered_at     TEXT,
    slack_channel_id TEXT,                  -- slack: where the message landed, for chat.update
    slack_ts         TEXT                   -- slack: the message ts, recorded once delivered
  );
  CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
  CREATE INDEX outbox_message ON outbox(message_key, status);
  CREATE INDEX outbox_fallback ON outbox(fallback_for);  -- health: is a dead notification's fallback dead too?

  CREATE TABLE approvals (
    decision_id  INTEGER PRIMARY KEY REFERENCES decisions(id),  -- one verdict per decision: a second is refused
    verdict      TEXT NOT NULL,             -- approved | declined
    by           TEXT NOT NULL,             -- the approver's name
    reason       TEXT,
    via          TEXT NOT NULL,             -- api | slack
    at           TEXT NOT NULL,
    outcome      TEXT,                      -- what acting on it did (approved: the rollback's result)
    outcome_at   TEXT
  );
  `,
  `
  -- After a rollback rolled out, did the service recover (checklist 5.3)? Judged on the release's immediate rules.
  ALTER TABLE rollbacks ADD COLUMN recovery TEXT;          -- recovered | not-recovered | unknown; NULL: not judged
  ALTER TABLE rollbacks ADD COLUMN recovery_at TEXT;
  ALTER TABLE rollbacks ADD COLUMN recovery_detail TEXT;   -- JSON: each rule's last verdict, value and threshold
  `,
  `
  -- The pod selector a release was judged with (per-target queries' {{selector}}): a restart or a replay binds the same.
  ALTER TABLE releases ADD COLUMN selector TEXT;           -- JSON of spec.selector.matchLabels; NULL: not known
  ALTER TABLE releases ADD COLUMN stable TEXT;             -- a canary's stable Deployment: JSON {namespace, deployment, selector}
  `,
];

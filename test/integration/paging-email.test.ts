// Rollback emails through the outbox and real nodemailer to a loopback SMTP server (smtp-server) that keeps a real
// server's contract: STARTTLS, AUTH, 4xx / 5xx replies, unknown mailboxes. Delivered, retried, or dead with the
// Slack fallback saying who was not told.
import { shippedRules } from '../helpers/shipped-rules.js';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmailNotifier, emailNotifierFromEnv, messageId } from '../../src/adapters/email/email-notifier.js';
import type { Decision } from '../../src/core/engine.js';
import { planNotifications, type EmailNotification } from '../../src/core/notification-plan.js';
import type { SmtpSettings } from '../../src/core/ruleset.js';
import { loadRulesets } from '../../src/daemon/run-daemon.js';
import { DeliveryWorker } from '../../src/guard/delivery-worker.js';
import { notifiers, PAGING_RULES, pagingRuleset, pagingWorld, T0, type PagingWorld } from '../helpers/paging-fixture.js';
import { PagerDutyStandIn } from '../helpers/pagerduty-stand-in.js';
import { SlackStandIn } from '../helpers/slack-stand-in.js';
import { SmtpStandIn, type SmtpStandInOptions } from '../helpers/smtp-stand-in.js';
import { useTempDir } from '../helpers/temp-dir.js';

const EMAIL_RULES = (port: number, to = '[stakeholders@example.com, vp@example.com]') =>
  PAGING_RULES.replace('  approvers:', `  email:\n    to: ${to}\n    from: 'rollback-guard <rollback-guard@example.com>'\n    smtp: { host: 127.0.0.1, port: ${port} }\n  approvers:`);

const tempDir = useTempDir();
let smtp: SmtpStandIn;
let slack: SlackStandIn;
let pd: PagerDutyStandIn;
let world: PagingWorld | undefined;

beforeEach(async () => {
  slack = new SlackStandIn();
  pd = new PagerDutyStandIn();
  await Promise.all([slack.start(), pd.start()]);
});

afterEach(async () => {
  world?.store.close();
  world = undefined;
  const results = await Promise.allSettled([smtp?.stop(), slack.stop(), pd.stop()]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
});

/** An SMTP stand-in, a decision log whose rules email through it, and a worker with every channel. */
async function setUp(options: SmtpStandInOptions & { to?: string } = {}, env: NodeJS.ProcessEnv = {}) {
  smtp = new SmtpStandIn(options);
  await smtp.start();
  // The rules ask for STARTTLS (the default) whatever the stand-in offers.
  world = pagingWorld(tempDir(), pagingRuleset(EMAIL_RULES(smtp.port, options.to)));
  const settings = world.ruleset.notifications;
  const email = emailNotifierFromEnv(settings.email!.smtp, { SMTP_USERNAME: smtp.user, SMTP_PASSWORD: smtp.pass, SMTP_CA_FILE: caFile(), ...env });
  let now = T0 + 10 * 60_000;
  const worker = new DeliveryWorker({ outbox: world.outbox, notifiers: { ...notifiers(pd, slack, settings), email }, settings: () => settings, now: () => now, initialBackoffMs: 1000 });
  const w = world;
  const rollback = () => {
    const d: Decision = {
      at: now, action: 'rollback', tier: 'immediate', rule: 'error-rate-critical', value: 0.08, threshold: 0.05, mode: 'enforce',
      evidence: { rule: 'error-rate-critical', tier: 'immediate', query: 'error_rate', comparison: 'above', value: 0.08, threshold: 0.05, forMs: 0, breachingSince: now, release: { startedAt: T0, severity: 'minor', windowEnd: T0 + 3_600_000 }, rulesHash: w.ruleset.hash },
    };
    const [stored] = w.store.recordInstant(w.release.id, now, { rules: {} }, [], [d]);
    w.outbox.enqueue(planNotifications(settings, w.release, { kind: 'decision', decision: stored! }), w.release.id, now);
    return stored!;
  };
  const emailRows = () => w.store.db.prepare(`SELECT status, attempts, target, last_error FROM outbox WHERE channel = 'email' ORDER BY id`).all() as { status: string; attempts: number; target: string; last_error: string | null }[];
  return { worker, rollback, emailRows, advance: (ms: number) => (now += ms), world: w };
}

function caFile(): string {
  const file = path.join(tempDir(), 'smtp-ca.pem');
  fs.writeFileSync(file, smtp.cert);
  return file;
}

describe('rollback emails over SMTP', () => {
  it('delivers ROLLBACK_START over STARTTLS with AUTH, beside the Slack message, with a Message-ID that a resend repeats', async () => {
    const { worker, rollback, emailRows, world: w } = await setUp();
    const d = rollback();
    expect(await worker.runOnce()).toMatchObject({ delivered: 4, dead: 0 }); // Slack, PagerDuty levels 1 and 4, email
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail).toMatchObject({ from: 'rollback-guard <rollback-guard@example.com>', rcpt: ['stakeholders@example.com', 'vp@example.com'], subject: '[Voice System] Rollback Initiated: voice-production/voice-server', secure: true, user: smtp.user });
    expect(mail.text).toContain('Version: v2.14.0 -> v2.13.2\nReason: error-rate-critical = 0.08 > 0.05');
    expect(mail.text).toContain(`Decision ${d.id}: rollback-guard explain ${d.id}`);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    const stored = w.outbox.due(T0 + 365 * 86_400_000, 10); // nothing pending, however late
    expect(stored).toEqual([]);
    const n = JSON.parse((w.store.db.prepare(`SELECT payload FROM outbox WHERE channel = 'email'`).get() as { payload: string }).payload) as EmailNotification;
    expect(mail.messageId).toBe(messageId(n));
    expect(emailRows()).toEqual([{ status: 'delivered', attempts: 1, target: 'stakeholders@example.com, vp@example.com', last_error: null }]);
    expect(slack.messages.map((m) => m.text)).toEqual([expect.stringContaining('Rollback Initiated')]);
    // The password never reaches the decision log.
    expect(JSON.stringify(w.store.db.prepare(`SELECT * FROM outbox`).all())).not.toContain(smtp.pass);
  });

  it('retries a 4xx reply and a server that is down, then delivers once', async () => {
    const { worker, rollback, emailRows, advance } = await setUp();
    smtp.failNext({ at: 'data', code: 451, message: '4.3.0 Mail server temporarily rejected message' });
    rollback();
    expect(await worker.runOnce()).toMatchObject({ retried: 1 });
    expect(emailRows()).toEqual([expect.objectContaining({ status: 'pending', attempts: 1, last_error: expect.stringContaining('451 4.3.0 Mail server temporarily rejected message') })]);
    await smtp.stop();
    advance(1000);
    expect(await worker.runOnce()).toMatchObject({ retried: 1 });
    expect(emailRows()[0]!.last_error).toMatch(/^SMTP 127\.0\.0\.1:\d+ unreachable: ESOCKET .*ECONNREFUSED/);
    await smtp.start();
    advance(2000);
    expect(await worker.runOnce()).toMatchObject({ delivered: 1 });
    expect(smtp.mails).toHaveLength(1);
    expect(emailRows()).toEqual([expect.objectContaining({ status: 'delivered', attempts: 3 })]);
  });

  it('wrong credentials (535) are permanent: dead, and the incidents channel is told who was not emailed', async () => {
    const { worker, rollback, emailRows } = await setUp({}, { SMTP_PASSWORD: 'wrong' });
    rollback();
    expect(await worker.runOnce()).toMatchObject({ dead: 1 });
    expect(smtp.refusals).toEqual(['auth 535']);
    expect(emailRows()).toEqual([expect.objectContaining({ status: 'dead', last_error: expect.stringContaining('535 5.7.8 Authentication credentials invalid') })]);
    await worker.runOnce();
    const fallback = slack.messages.find((m) => m.text.startsWith(':email:'));
    expect(fallback?.text).toMatch(/^:email: An email to stakeholders@example\.com, vp@example\.com could not be sent: SMTP 127\.0\.0\.1:\d+ AUTH PLAIN: 535 5\.7\.8 .*\nSubject: \[Voice System\] Rollback Initiated: voice-production\/voice-server\nForward this to them by hand\./);
  });

  it('one unknown mailbox: the others get it, and the dead row and Slack name the one refused', async () => {
    const { worker, rollback, emailRows } = await setUp({ to: '[stakeholders@example.com, nobody@example.com]' });
    rollback();
    await worker.runOnce();
    expect(smtp.mails.map((m) => m.rcpt)).toEqual([['stakeholders@example.com']]);
    expect(emailRows()[0]!.last_error).toMatch(/refused nobody@example\.com \(550 5\.1\.1 <nobody@example\.com>: Recipient address rejected: User unknown\); delivered to stakeholders@example\.com$/);
    await worker.runOnce();
    expect(slack.messages.some((m) => m.text.includes('could not be sent') && m.text.includes('refused nobody@example.com'))).toBe(true);
  });

  it('a server that does not offer STARTTLS gets neither the credentials nor the message', async () => {
    const { worker, rollback, emailRows } = await setUp({ tls: 'none' });
    // The rules still say starttls (the default); the stand-in offers none.
    rollback();
    await worker.runOnce();
    expect(smtp.mails).toEqual([]);
    expect(smtp.authAttempts).toEqual([]);
    expect(emailRows()[0]).toMatchObject({ status: 'dead', last_error: expect.stringMatching(/STARTTLS/) });
  });
});

describe('SMTP settings', () => {
  const mail: EmailNotification = { channel: 'email', action: 'send', key: 'k:email', dedupKey: 'k', from: 'rollback-guard@example.com', to: ['stakeholders@example.com'], subject: 'Subject', text: 'Body' };
  const send = (settings: Partial<SmtpSettings>, o: Partial<ConstructorParameters<typeof EmailNotifier>[0]> = {}) =>
    new EmailNotifier({ smtp: { host: '127.0.0.1', port: smtp.port, tls: 'starttls', ...settings }, ca: smtp.cert, credentials: () => ({ user: smtp.user, pass: smtp.pass }), ...o }).deliver(mail);

  it('tls: implicit talks TLS from the first byte', async () => {
    smtp = new SmtpStandIn({ tls: 'implicit' });
    await smtp.start();
    expect(await send({ tls: 'implicit' })).toEqual({ kind: 'delivered' });
    expect(smtp.mails[0]).toMatchObject({ secure: true, subject: 'Subject' });
  });

  it('tls: none sends in plain text to a relay without AUTH', async () => {
    smtp = new SmtpStandIn({ tls: 'none', auth: false });
    await smtp.start();
    expect(await send({ tls: 'none' }, { credentials: () => undefined })).toEqual({ kind: 'delivered' });
    expect(smtp.mails[0]).toMatchObject({ secure: false, user: undefined });
  });

  it('without AUTH where the server requires it: 530, permanent', async () => {
    smtp = new SmtpStandIn();
    await smtp.start();
    expect(await send({}, { credentials: () => undefined })).toMatchObject({ kind: 'permanent', error: expect.stringMatching(/MAIL FROM: 530/) });
  });

  it('a certificate from an unknown CA is refused before AUTH, and permanent (a retry would never reach anyone): the error says what to set', async () => {
    smtp = new SmtpStandIn();
    await smtp.start();
    const other = fs.readFileSync(path.join(import.meta.dirname, '../fixtures/tls/other-cert.pem'), 'utf8');
    expect(await send({}, { ca: other })).toEqual({ kind: 'permanent', error: expect.stringMatching(/^SMTP 127\.0\.0\.1:\d+: TLS certificate refused: self-signed certificate; set SMTP_CA_FILE/) });
    expect(smtp.mails).toEqual([]);
    expect(smtp.authAttempts).toEqual([]);
  });

  it('a server that is down is retried, not dead', async () => {
    smtp = new SmtpStandIn();
    await smtp.start();
    await smtp.stop();
    expect(await send({})).toMatchObject({ kind: 'retry', error: expect.stringMatching(/unreachable: ESOCKET .*ECONNREFUSED/) });
  });

  it('the same notification sent twice carries the same Message-ID (a resend after a crash can be recognised)', async () => {
    smtp = new SmtpStandIn();
    await smtp.start();
    await send({});
    await send({});
    expect(smtp.mails).toHaveLength(2);
    expect(smtp.mails[0]!.messageId).toBe(smtp.mails[1]!.messageId);
    expect(smtp.mails[0]!.messageId).toMatch(/^<[0-9a-f]{32}@example\.com>$/);
    expect(messageId({ ...mail, text: 'Other body' })).not.toBe(smtp.mails[0]!.messageId);
  });

  it('refuses at start what would fail at the first rollback: a username without a password, credentials over tls: none', () => {
    const settings: SmtpSettings = { host: 'relay', port: 25, tls: 'starttls' };
    expect(() => emailNotifierFromEnv(settings, { SMTP_USERNAME: 'u' })).toThrow('SMTP_PASSWORD is not set; set it, or SMTP_PASSWORD_FILE to a file holding it');
    expect(() => emailNotifierFromEnv({ ...settings, tls: 'none' }, { SMTP_USERNAME: 'u', SMTP_PASSWORD: 'p' })).toThrow(/SMTP_USERNAME is set but notifications\.email\.smtp\.tls is none: the password would cross the network in clear text to relay:25/);
    expect(() => emailNotifierFromEnv({ ...settings, tls: 'none' }, {})).not.toThrow();
  });

  it('credentials from files; a missing password names the variable, never a value', async () => {
    smtp = new SmtpStandIn();
    await smtp.start();
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'pass'), `${smtp.pass}\n`);
    const settings: SmtpSettings = { host: '127.0.0.1', port: smtp.port, tls: 'starttls' };
    const ca = caFile();
    expect(await emailNotifierFromEnv(settings, { SMTP_USERNAME: smtp.user, SMTP_PASSWORD_FILE: path.join(dir, 'pass'), SMTP_CA_FILE: ca }).deliver(mail)).toEqual({ kind: 'delivered' });
    // Checked at start, and again at each send (the file may have been emptied since).
    const passFile = path.join(dir, 'pass');
    const notifier = emailNotifierFromEnv(settings, { SMTP_USERNAME: smtp.user, SMTP_PASSWORD_FILE: passFile, SMTP_CA_FILE: ca });
    fs.writeFileSync(passFile, '');
    expect(await notifier.deliver(mail)).toEqual({ kind: 'permanent', error: `SMTP_PASSWORD_FILE (${passFile}) is empty; put the secret in it` });
    expect(() => emailNotifierFromEnv(settings, { SMTP_CA_FILE: path.join(dir, 'missing.pem') })).toThrow(/cannot read SMTP_CA_FILE \(.*missing\.pem\): ENOENT/);
  });
});

describe('the SMTP server across rules files', () => {
  const file = (name: string, deployment: string, smtpHost?: string) => {
    const f = path.join(tempDir(), name);
    const email = smtpHost ? `notifications:\n  email:\n    to: [${deployment}@example.com]\n    from: rollback-guard@example.com\n    smtp: { host: ${smtpHost} }\n` : '';
    fs.writeFileSync(f, shippedRules(deployment).concat(email));
    return f;
  };

  it('files without email need not repeat it; each emailing file keeps its own recipients', () => {
    const [plain, mailing] = loadRulesets([file('a.yaml', 'voice-server'), file('b.yaml', 'text-server', 'smtp.example.com')]);
    expect(plain!.notifications.email).toBeUndefined();
    expect(mailing!.notifications.email).toMatchObject({ to: ['text-server@example.com'], smtp: { host: 'smtp.example.com', port: 587 } });
  });

  it('two emailing files naming different servers: refused, naming the file, the line and both', () => {
    const b = file('b.yaml', 'text-server', 'smtp.example.com');
    const c = file('c.yaml', 'chat-server', 'other.example.com');
    const line = fs.readFileSync(c, 'utf8').split('\n').findIndex((l) => /^\s*smtp:/.test(l)) + 1;
    expect(() => loadRulesets([file('a.yaml', 'voice-server'), b, c])).toThrow(`${c}:${line}:1: notifications.email.smtp is other.example.com:587 (tls starttls) here but smtp.example.com:587 (tls starttls) in ${b}`);
  });
});

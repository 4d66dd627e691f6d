// Rollback emails over SMTP with nodemailer. nodemailer is imported on the first send, so a daemon without
// `notifications.email` never loads it. One connection per email (no pool): rollbacks are rare, and a fresh
// connection re-reads rotated credentials. The outbox worker retries; nodemailer does not.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { SMTPError } from 'nodemailer/lib/smtp-connection/index.js';
import type { EmailNotification, Notification } from '../../core/notification-plan.js';
import type { SmtpSettings } from '../../core/ruleset.js';
import { UsageError } from '../../errors/usage-error.js';
import type { DeliveryResult, Notifier } from '../../ports/notifier.js';
import { readSecret } from '../secrets/read-secret.js';

export interface EmailOptions {
  smtp: SmtpSettings;
  /** SMTP AUTH user and password, read at each send (env SMTP_USERNAME / SMTP_PASSWORD[_FILE]); undefined: no AUTH. */
  credentials?: () => { user: string; pass: string } | undefined;
  /** PEM CA for a server with a private certificate. @default the system's (and NODE_EXTRA_CA_CERTS) */
  ca?: string;
  /** Connection, greeting and socket timeout each. @default 10000 */
  timeoutMs?: number;
}

export class EmailNotifier implements Notifier {
  constructor(private readonly options: EmailOptions) {}

  async deliver(n: Notification): Promise<DeliveryResult> {
    if (n.channel !== 'email') return { kind: 'permanent', error: `not an email (${n.channel})` };
    const { smtp } = this.options;
    const where = `SMTP ${smtp.host}:${smtp.port}`;
    let auth: { user: string; pass: string } | undefined;
    try {
      auth = this.options.credentials?.();
    } catch (err) {
      return { kind: 'permanent', error: (err as Error).message };
    }
    const timeout = this.options.timeoutMs ?? 10_000;
    const transportOptions: SMTPTransport.Options = {
      host: smtp.host,
      port: smtp.port,
      secure: smtp.tls === 'implicit',
      // starttls: never send credentials or the message in clear because a server (or a man in the middle) did
      // not offer STARTTLS. none: a relay inside the cluster, plain text on purpose.
      requireTLS: smtp.tls === 'starttls',
      ignoreTLS: smtp.tls === 'none',
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      ...(auth ? { auth } : {}),
      ...(this.options.ca ? { tls: { ca: this.options.ca } } : {}),
    };
    try {
      const { default: nodemailer } = await import('nodemailer');
      const transport = nodemailer.createTransport(transportOptions);
      try {
        const info = await transport.sendMail({ from: n.from, to: n.to, subject: n.subject, text: n.text, messageId: messageId(n), headers: { 'Auto-Submitted': 'auto-generated' } });
        if (info.rejected.length) {
          // Sending again would repeat it to those who got it: report who did not (dead, and said in Slack).
          const why = ((info as { rejectedErrors?: SMTPError[] }).rejectedErrors ?? []).map((e) => e.response ?? e.message).join('; ');
          return { kind: 'permanent', error: `${where} refused ${addresses(info.rejected)}${why ? ` (${why})` : ''}; delivered to ${addresses(info.accepted) || 'nobody'}` };
        }
        return { kind: 'delivered' };
      } finally {
        transport.close();
      }
    } catch (err) {
      return classify(err as SMTPError, where);
    }
  }
}

/** nodemailer reports recipients as strings or as `{ name, address }`. */
function addresses(list: readonly (string | { address: string })[]): string {
  return list.map((a) => (typeof a === 'string' ? a : a.address)).join(', ');
}

/**
 * Stable across retries of one notification: a resend after a crash between the send and its mark carries the
 * same Message-ID, which mail systems use to drop the duplicate.
 */
export function messageId(n: EmailNotification): string {
  const domain = /@([^\s<>@]+)>?\s*$/.exec(n.from)?.[1] ?? 'rollback-guard.invalid';
  return `<${createHash('sha256').update(`${n.key}\n${n.subject}\n${n.text}`).digest('hex').slice(0, 32)}@${domain}>`;
}

/** Node's TLS verification failures (nodemailer replaces their code with ESOCKET, so the message tells). */
const CERTIFICATE_ERROR = /certificate|altnames|self[- ]signed/i;

/**
 * SMTP says itself whether to retry: 4xx transient, 5xx permanent. Without a reply: a connection that failed or
 * dropped is retried; a certificate that does not verify, and nodemailer's own refusals (bad address, missing
 * credentials), would fail the same way every time, so they are permanent and the incidents channel is told
 * (the outbox retries without limit, so a retried setup mistake would never reach anyone).
 */
export function classify(e: SMTPError, where: string): DeliveryResult {
  const said = (e.response ?? e.message ?? String(e)).replace(/\s+/g, ' ').trim();
  const error = `${where}${e.command && e.command !== 'API' && e.command !== 'CONN' ? ` ${e.command}` : ''}: ${said}`;
  if (e.responseCode !== undefined) return e.responseCode >= 500 ? { kind: 'permanent', error } : { kind: 'retry', error };
  if (CERTIFICATE_ERROR.test(said)) return { kind: 'permanent', error: `${where}: TLS certificate refused: ${said}; set SMTP_CA_FILE to the CA that signed the server's certificate, or fix smtp.host to the name it was issued for` };
  if (e.code === 'ECONNECTION' || e.code === 'ETIMEDOUT' || e.code === 'ESOCKET' || e.code === 'EDNS' || e.code === 'ETLS') {
    return { kind: 'retry', error: `${where} unreachable: ${e.code} ${said}` };
  }
  if (e.code === 'EENVELOPE' || e.code === 'EAUTH' || e.command === 'API') return { kind: 'permanent', error };
  return { kind: 'retry', error: `${where} unreachable: ${e.code ? `${e.code} ` : ''}${said}` };
}

/**
 * The notifier for `smtp` with credentials and CA from the environment (README: Secrets). What can be checked
 * before the first rollback is checked here, at start: a username without a password, credentials that `tls: none`
 * would send in clear, an unreadable CA file. Credentials are still read at each send (a rotated file applies).
 */
export function emailNotifierFromEnv(smtp: SmtpSettings, env: NodeJS.ProcessEnv = process.env): EmailNotifier {
  const user = () => (env.SMTP_USERNAME_FILE || env.SMTP_USERNAME ? readSecret('SMTP_USERNAME', env) : undefined);
  if (user() !== undefined) {
    if (smtp.tls === 'none') {
      throw new UsageError(`SMTP_USERNAME is set but notifications.email.smtp.tls is none: the password would cross the network in clear text to ${smtp.host}:${smtp.port}; use tls: starttls or implicit, or unset SMTP_USERNAME for a relay without AUTH`);
    }
    readSecret('SMTP_PASSWORD', env);
  }
  const ca = env.SMTP_CA_FILE;
  return new EmailNotifier({
    smtp,
    credentials: () => {
      const name = user();
      return name === undefined ? undefined : { user: name, pass: readSecret('SMTP_PASSWORD', env) };
    },
    ...(ca ? { ca: readCa(ca) } : {}),
  });
}

function readCa(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read SMTP_CA_FILE (${file}): ${(err as NodeJS.ErrnoException).code ?? 'error'}; point it at a PEM file with the SMTP server's CA`, { cause: err });
  }
}

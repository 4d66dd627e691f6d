// A loopback SMTP submission server (nodemailer's smtp-server) holding to the contract a real one keeps: STARTTLS
// offered (test certificate) and AUTH refused before it, AUTH required before MAIL (530), wrong credentials 535,
// unknown mailboxes 550 5.1.1 at RCPT, and scripted replies (4xx transient, 5xx permanent) at MAIL, RCPT or DATA.
// Received messages are parsed with mailparser, as a mail client would read them.
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export const TLS_DIR = path.join(import.meta.dirname, '../fixtures/tls');

export interface ReceivedMail {
  /** `Name <address>` as a mail client shows it. */
  from: string;
  /** The envelope's recipients (RCPT TO), which the server accepted. */
  rcpt: string[];
  subject: string;
  text: string;
  messageId: string;
  headers: Map<string, unknown>;
  /** Whether the session was encrypted when the message was sent. */
  secure: boolean;
  user: string | undefined;
}

type Phase = 'mail' | 'rcpt' | 'data';
interface Scripted {
  at: Phase;
  code: number;
  message: string;
}

export interface SmtpStandInOptions {
  /** `implicit`: TLS from the first byte; `none`: no STARTTLS offered. @default 'starttls' */
  tls?: 'starttls' | 'implicit' | 'none';
  /** Require AUTH. @default true */
  auth?: boolean;
}

export class SmtpStandIn {
  port = 0;
  readonly user = 'rollback-guard';
  readonly pass = 'smtp-pass-0123456789';
  readonly mailboxes = new Set(['stakeholders@example.com', 'vp@example.com']);
  readonly mails: ReceivedMail[] = [];
  /** Every reply other than success, as `<phase> <code>`. */
  readonly refusals: string[] = [];
  /** Every AUTH attempt, as `<user> <method> secure|plain`: what a client revealed, and over what. */
  readonly authAttempts: string[] = [];
  readonly cert = fs.readFileSync(path.join(TLS_DIR, 'server-cert.pem'), 'utf8');
  private readonly script: Scripted[] = [];
  private server: SMTPServer | undefined;

  constructor(private readonly options: SmtpStandInOptions = {}) {}

  /** The next replies at a phase, in order, instead of the normal one. */
  failNext(...answers: Scripted[]): void {
    this.script.push(...answers);
  }

  async start(port = this.port): Promise<void> {
    const tls = this.options.tls ?? 'starttls';
    const requireAuth = this.options.auth ?? true;
    const options: SMTPServerOptions = {
      secure: tls === 'implicit',
      key: fs.readFileSync(path.join(TLS_DIR, 'server-key.pem')),
      cert: this.cert,
      // A server without TLS: STARTTLS is neither advertised nor accepted (hideSTARTTLS alone still accepts it).
      disabledCommands: [...(tls === 'none' ? ['STARTTLS'] : []), ...(requireAuth ? [] : ['AUTH'])],
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: !requireAuth,
      // A server with no TLS at all takes AUTH in clear (as such relays do), so a client that would send its
      // password there is seen doing it; one with TLS refuses AUTH before STARTTLS.
      allowInsecureAuth: tls === 'none',
      closeTimeout: 200,
      logger: false,
      onAuth: (auth, session, cb) => {
        this.authAttempts.push(`${auth.username} ${auth.method} ${session.secure ? 'secure' : 'plain'}`);
        if (auth.username === this.user && auth.password === this.pass) return cb(null, { user: auth.username });
        this.refusals.push('auth 535');
        cb(replyError(535, '5.7.8 Authentication credentials invalid'));
      },
      onMailFrom: (_address, _session, cb) => cb(this.scripted('mail')),
      onRcptTo: (address, _session, cb) => {
        const scripted = this.scripted('rcpt');
        if (scripted) return cb(scripted);
        if (!this.mailboxes.has(address.address.toLowerCase())) {
          this.refusals.push('rcpt 550');
          return cb(replyError(550, `5.1.1 <${address.address}>: Recipient address rejected: User unknown`));
        }
        cb();
      },
      onData: (stream, session, cb) => {
        simpleParser(stream)
          .then((parsed) => {
            // The whole message is read before answering, as a real server does.
            const scripted = this.scripted('data');
            if (scripted) return cb(scripted);
            this.mails.push(received(parsed, session));
            cb();
          })
          .catch((err: Error) => cb(err));
      },
    };
    const server = new SMTPServer(options);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private scripted(at: Phase): Error | null {
    const i = this.script.findIndex((s) => s.at === at);
    if (i < 0) return null;
    const [s] = this.script.splice(i, 1);
    this.refusals.push(`${at} ${s!.code}`);
    return replyError(s!.code, s!.message);
  }
}

function replyError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

type Parsed = Awaited<ReturnType<typeof simpleParser>>;

function received(parsed: Parsed, session: SMTPServerSession): ReceivedMail {
  return {
    from: parsed.from?.value.map((a) => `${a.name} <${a.address}>`).join(', ') ?? '',
    rcpt: session.envelope.rcptTo.map((r) => r.address),
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    messageId: parsed.messageId ?? '',
    headers: parsed.headers,
    secure: session.secure,
    user: typeof session.user === 'string' ? session.user : undefined,
  };
}

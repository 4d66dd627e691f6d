// A loopback stand-in for the Slack Web API's chat.postMessage and chat.update, as @slack/web-api's WebClient
// calls them (form-encoded bodies, bearer token). It enforces the contract: ok:false with Slack's error names
// (invalid_auth, channel_not_found, no_text, message_not_found), ts per message, scripted `ratelimited` 429 with
// Retry-After and 5xx; stop and start again on the same port.
import http from 'node:http';
import { closeServer, listenLoopback } from './loopback-listen.js';

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  updates: number;
}

type Scripted = { status?: number; error?: string; retryAfter?: number };

export class SlackStandIn {
  private server: http.Server | undefined;
  port = 0;
  /** Channel name (with #) or id -> channel id. */
  readonly channels = new Map<string, string>([
    ['#voice-incidents', 'C0INCIDENTS'],
    ['#voice-releases', 'C0RELEASES'],
    ['#voice-engineering', 'C0ENGINEERING'],
  ]);
  readonly messages: SlackMessage[] = [];
  /** When each message was posted (performance.now()), to order it against other stand-ins' requests. */
  readonly postedAt: number[] = [];
  readonly calls: { method: string; ok: boolean; error?: string }[] = [];
  private readonly script: Scripted[] = [];
  private seq = 0;

  constructor(readonly token = 'xoxb-test-token-1234') {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  failNext(...answers: Scripted[]): void {
    this.script.push(...answers);
  }

  async start(port = this.port): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    this.port = await listenLoopback(this.server, port);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }

  private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
    const reply = (json: Record<string, unknown>, status = 200, headers: Record<string, string> = {}) => {
      this.calls.push({ method, ok: json.ok === true, ...(typeof json.error === 'string' ? { error: json.error } : {}) });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(json));
    };
    const type = req.headers['content-type'] ?? '';
    const params: Record<string, string> = type.includes('application/json')
      ? (JSON.parse(body || '{}') as Record<string, string>)
      : Object.fromEntries(new URLSearchParams(body));
    const scripted = this.script.shift();
    if (scripted) {
      if (scripted.status === 429) return reply({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(scripted.retryAfter ?? 1) });
      if (scripted.status && scripted.status >= 500) return reply({ ok: false, error: 'internal_error' }, scripted.status);
      return reply({ ok: false, error: scripted.error ?? 'fatal_error' });
    }
    const auth = req.headers.authorization ?? (params.token ? `Bearer ${params.token}` : '');
    if (!auth) return reply({ ok: false, error: 'not_authed' });
    if (auth !== `Bearer ${this.token}`) return reply({ ok: false, error: 'invalid_auth' });
    const channelId = this.channels.get(params.channel ?? '') ?? [...this.channels.values()].find((id) => id === params.channel);
    if (!channelId) return reply({ ok: false, error: 'channel_not_found' });
    const blocks = params.blocks ? (typeof params.blocks === 'string' ? (JSON.parse(params.blocks) as unknown[]) : (params.blocks as unknown as unknown[])) : undefined;
    if (!params.text && !blocks?.length) return reply({ ok: false, error: 'no_text' });
    if (method === 'chat.postMessage') {
      const ts = `1764000000.${String(++this.seq).padStart(6, '0')}`;
      const msg: SlackMessage = { channel: channelId, ts, text: params.text ?? '', updates: 0, ...(blocks ? { blocks } : {}) };
      this.messages.push(msg);
      this.postedAt.push(performance.now());
      return reply({ ok: true, channel: channelId, ts, message: { text: msg.text, ts } });
    }
    if (method === 'chat.update') {
      const msg = this.messages.find((m) => m.channel === channelId && m.ts === params.ts);
      if (!msg) return reply({ ok: false, error: 'message_not_found' });
      msg.text = params.text ?? msg.text;
      if (blocks) msg.blocks = blocks;
      msg.updates++;
      return reply({ ok: true, channel: channelId, ts: msg.ts, text: msg.text });
    }
    return reply({ ok: false, error: 'unknown_method' }, 404);
  }
}

// How the guard reaches and authenticates to the API server: the surface of the client's KubeConfig that its
// request factories (applySecurityAuthentication) and its Watch (getCurrentCluster, applyToFetchOptions) use.
// In a pod and with an explicit server this is the small class below; only a kubeconfig file (a laptop, the
// `rollback` command) loads the client's KubeConfig, whose exec/OIDC/cloud auth pulls in the whole client.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';

export interface KubeAccess {
  getName(): string;
  getCurrentCluster(): { name: string; server: string } | null;
  applySecurityAuthentication(context: RequestContext): Promise<void>;
  /** node-fetch RequestInit for the client's Watch. */
  applyToFetchOptions(opts: object): Promise<object>;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Client-go re-reads a service account token file once a minute: kubelet rotates projected tokens in place. */
const TOKEN_REREAD_MS = 60_000;

export interface TokenFileAccessOptions {
  /** API server URL, http:// or https://. */
  server: string;
  /** Bearer token file, re-read every minute. None: no Authorization header. */
  tokenFile?: string;
  /** PEM CA bundle that must have signed the server's certificate (https only). None: the system's CAs. */
  caFile?: string;
  /** For tests of token rotation. */
  now?: () => number;
}

/** A server URL plus a bearer token file: in-cluster service account access, or an explicit server. */
export class TokenFileAccess implements KubeAccess {
  private readonly agent: http.Agent;
  private token: { value: string; readAt: number } | undefined;
  private readonly now: () => number;

  constructor(private readonly o: TokenFileAccessOptions) {
    this.now = o.now ?? Date.now;
    // One keep-alive agent for every call, where KubeConfig builds a new agent (and TLS handshake) per request.
    this.agent = o.server.startsWith('https:')
      ? new https.Agent({ keepAlive: true, ...(o.caFile ? { ca: fs.readFileSync(o.caFile) } : {}) })
      : new http.Agent({ keepAlive: true });
    if (o.tokenFile) this.bearer(); // fail at start, not at the first rollback, when the file cannot be read
  }

  getName(): string {
    return 'service account token';
  }

  getCurrentCluster(): { name: string; server: string } {
    return { name: 'guard', server: this.o.server };
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const auth = this.bearer();
    if (auth) context.setHeaderParam('Authorization', auth);
    context.setAgent(this.agent);
    return Promise.resolve();
  }

  async applyToFetchOptions(): Promise<{ agent: http.Agent; headers: Record<string, string> }> {
    const auth = this.bearer();
    const headers: Record<string, string> = auth ? { Authorization: auth } : {};
    return Promise.resolve({ agent: this.agent, headers });
  }

  private bearer(): string | undefined {
    if (!this.o.tokenFile) return undefined;
    const now = this.now();
    if (!this.token || now - this.token.readAt >= TOKEN_REREAD_MS) {
      try {
        this.token = { value: fs.readFileSync(this.o.tokenFile, 'utf8').trim(), readAt: now };
      } catch (err) {
        // A rotation in progress: keep the token read last; with none, the caller reports the error.
        if (!this.token) throw err;
      }
    }
    return `Bearer ${this.token.value}`;
  }
}

/** In-cluster access the way client-go and KubeConfig.loadFromCluster build it, or undefined when not in a pod. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): TokenFileAccess | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = `${dir}/token`;
  if (!host || !port || !fs.existsSync(tokenFile)) return undefined;
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new TokenFileAccess({ server, tokenFile, caFile: `${dir}/ca.crt` });
}

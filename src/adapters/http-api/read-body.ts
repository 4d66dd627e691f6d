import type { IncomingMessage, ServerResponse } from 'node:http';

/** The request body as text, refusing more than `limit` bytes (a signature is computed over the exact bytes). */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** The keys of a JSON body the endpoint does not take, and the 400 message naming them; undefined when none. */
export function unknownFields(body: unknown, allowed: readonly string[]): string | undefined {
  const unknown = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).filter((k) => !allowed.includes(k)) : [];
  if (!unknown.length) return undefined;
  return `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the body takes ${allowed.map((k) => `"${k}"`).join(', ').replace(/, ([^,]*)$/, ' and $1')} only`;
}

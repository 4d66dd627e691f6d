// RFC 6902 JSON patch and RFC 7386 merge patch, as the Kubernetes API server applies them (stand-in use only).

type Json = unknown;
export interface PatchOp {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: Json;
  from?: string;
}

/** A patch that cannot be applied; the stand-in answers 422 like the API server. */
export class PatchError extends Error {}

const clone = <T>(v: T): T => structuredClone(v);
const unescape = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map(unescape);
}

function parentOf(doc: Json, segs: string[]): { parent: Record<string, Json> | Json[]; key: string } {
  let cur: Json = doc;
  for (const s of segs.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') throw new PatchError(`path segment ${s} does not exist`);
    cur = (cur as Record<string, Json>)[s];
  }
  if (cur === null || typeof cur !== 'object') throw new PatchError(`parent of /${segs.join('/')} does not exist`);
  return { parent: cur as Record<string, Json>, key: segs[segs.length - 1]! };
}

function get(doc: Json, path: string): Json {
  let cur = doc;
  for (const s of pointer(path)) {
    if (cur === null || typeof cur !== 'object' || !(s in cur)) throw new PatchError(`path ${path} does not exist`);
    cur = (cur as Record<string, Json>)[s];
  }
  return cur;
}

function put(doc: Json, path: string, value: Json, mode: 'add' | 'replace'): Json {
  const segs = pointer(path);
  if (segs.length === 0) return value;
  const { parent, key } = parentOf(doc, segs);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(`bad array index ${key}`);
    if (mode === 'add') parent.splice(i, 0, value);
    else {
      if (i >= parent.length) throw new PatchError(`path ${path} does not exist`);
      parent[i] = value;
    }
  } else {
    if (mode === 'replace' && !(key in parent)) throw new PatchError(`replace: path ${path} does not exist`);
    parent[key] = value;
  }
  return doc;
}

function remove(doc: Json, path: string): Json {
  const segs = pointer(path);
  const { parent, key } = parentOf(doc, segs);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else {
    if (!(key in parent)) throw new PatchError(`remove: path ${path} does not exist`);
    delete parent[key];
  }
  return doc;
}

export function applyJsonPatch(target: Json, ops: PatchOp[]): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be a list of operations');
  let doc = clone(target);
  for (const op of ops) {
    switch (op.op) {
      case 'add': doc = put(doc, op.path, clone(op.value), 'add'); break;
      case 'replace': doc = put(doc, op.path, clone(op.value), 'replace'); break;
      case 'remove': doc = remove(doc, op.path); break;
      case 'test':
        if (JSON.stringify(get(doc, op.path)) !== JSON.stringify(op.value)) throw new PatchError(`test operation failed at ${op.path}`);
        break;
      case 'copy': doc = put(doc, op.path, clone(get(doc, op.from!)), 'add'); break;
      case 'move': {
        const v = get(doc, op.from!);
        doc = put(remove(doc, op.from!), op.path, v, 'add');
        break;
      }
      default: throw new PatchError(`unknown JSON patch op ${JSON.stringify((op as { op: unknown }).op)}`);
    }
  }
  return doc;
}

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Record<string, Json> = target !== null && typeof target === 'object' && !Array.isArray(target) ? clone(target as Record<string, Json>) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

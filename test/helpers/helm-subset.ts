// Renders this chart's templates with a small subset of Go templates + Sprig: exactly the constructs the chart
// uses (values, include/define, if/else/end, and/or/not/gt, default, quote, toYaml, nindent, .Files.Get). It is NOT helm:
// it exists because helm cannot be installed here, so the objects the chart makes can still be checked. A
// template using anything else fails loudly here; a real pipeline should add `helm lint` and `helm template`.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

type Ctx = Record<string, unknown>;
type Node = { t: 'text'; v: string } | { t: 'action'; v: string } | { t: 'if'; cond: string; then: Node[]; else: Node[] } | { t: 'define'; name: string; body: Node[] };

function lex(src: string): Node[] {
  const out: Node[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ t: 'text', v: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    const close = src.indexOf('}}', open);
    if (close < 0) throw new Error('unclosed {{');
    let inner = src.slice(open + 2, close);
    if (inner.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    let next = close + 2;
    if (inner.endsWith('-')) {
      inner = inner.slice(0, -1);
      while (next < src.length && /\s/.test(src[next]!)) next++;
    }
    out.push({ t: 'text', v: text }, { t: 'action', v: inner.trim() });
    i = next;
  }
  return out;
}

function parse(tokens: Node[]): { nodes: Node[]; defines: Map<string, Node[]> } {
  const defines = new Map<string, Node[]>();
  let pos = 0;
  const block = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++]!;
      if (tok.t !== 'action') {
        nodes.push(tok);
        continue;
      }
      const a = tok.v;
      if (stopAt.includes(a)) return { nodes, stop: a };
      if (a.startsWith('if ')) {
        const then = block(['else', 'end']);
        const els = then.stop === 'else' ? block(['end']).nodes : [];
        nodes.push({ t: 'if', cond: a.slice(3), then: then.nodes, else: els });
      } else if (a.startsWith('define ')) {
        const name = JSON.parse(a.slice(7).trim()) as string;
        defines.set(name, block(['end']).nodes);
      } else if (/^(with|range|else if|template|block)\b/.test(a)) throw new Error(`helm-subset: unsupported action {{ ${a} }}`);
      else nodes.push(tok);
    }
    if (stopAt.length) throw new Error(`helm-subset: missing {{ ${stopAt.join(' or ')} }}`);
    return { nodes, stop: '' };
  };
  return { nodes: block([]).nodes, defines };
}

function words(s: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|\(|\)|\||[^\s()|]+)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) && m[1] !== undefined) out.push(m[1]);
  return out;
}

export class HelmSubset {
  private defines = new Map<string, Node[]>();

  constructor(private readonly chartDir: string) {
    const helpers = path.join(chartDir, 'templates', '_helpers.tpl');
    if (fs.existsSync(helpers)) for (const [k, v] of parse(lex(fs.readFileSync(helpers, 'utf8'))).defines) this.defines.set(k, v);
  }

  /** Renders every template for these values; returns the parsed objects (empty documents dropped). */
  render(values: Ctx, release = { Name: 'guard', Namespace: 'voice-production', Service: 'Helm' }): Record<string, unknown>[] {
    const chart = YAML.parse(fs.readFileSync(path.join(this.chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    const root: Ctx = { Values: values, Release: release, Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion } };
    const objects: Record<string, unknown>[] = [];
    for (const f of fs.readdirSync(path.join(this.chartDir, 'templates')).filter((f) => f.endsWith('.yaml')).sort()) {
      const text = this.renderText(fs.readFileSync(path.join(this.chartDir, 'templates', f), 'utf8'), root);
      for (const doc of YAML.parseAllDocuments(text)) {
        if (doc.errors.length) throw new Error(`${f}: rendered YAML is invalid: ${doc.errors[0]!.message}\n${text}`);
        const obj = doc.toJS() as Record<string, unknown> | null;
        if (obj) objects.push(obj);
      }
    }
    return objects;
  }

  renderText(src: string, root: Ctx): string {
    const { nodes } = parse(lex(src));
    return this.exec(nodes, root, root);
  }

  private exec(nodes: Node[], dot: unknown, root: Ctx): string {
    let out = '';
    for (const n of nodes) {
      if (n.t === 'text') out += n.v;
      else if (n.t === 'if') out += this.exec(truthy(this.pipeline(n.cond, dot, root)) ? n.then : n.else, dot, root);
      else if (n.t === 'action') {
        if (n.v.startsWith('/*')) continue;
        const v = this.pipeline(n.v, dot, root);
        out += text(v);
      }
    }
    return out;
  }

  private pipeline(expr: string, dot: unknown, root: Ctx): unknown {
    const toks = words(expr);
    let pos = 0;
    const cmd = (piped: unknown[]): unknown => {
      const args: unknown[] = [];
      let fn: string | undefined;
      while (pos < toks.length && toks[pos] !== '|' && toks[pos] !== ')') {
        const w = toks[pos++]!;
        if (w === '(') {
          args.push(pipe());
          pos++; // ')'
        } else if (!fn && args.length === 0 && (/^[a-zA-Z]\w*$/.test(w) || w === '.Files.Get')) fn = w;
        else args.push(this.operand(w, dot, root));
      }
      args.push(...piped);
      if (!fn) {
        if (args.length !== 1) throw new Error(`helm-subset: cannot evaluate ${expr}`);
        return args[0];
      }
      return this.call(fn, args, root);
    };
    const pipe = (): unknown => {
      let v = cmd([]);
      while (toks[pos] === '|') {
        pos++;
        v = cmd([v]);
      }
      return v;
    };
    return pipe();
  }

  private operand(w: string, dot: unknown, _root: Ctx): unknown {
    if (w.startsWith('"')) return JSON.parse(w) as string;
    if (/^-?\d+(\.\d+)?$/.test(w)) return Number(w);
    if (w === '.') return dot;
    if (w === 'true' || w === 'false') return w === 'true';
    if (w.startsWith('.')) {
      let v: unknown = dot;
      for (const k of w.slice(1).split('.')) v = v === undefined || v === null ? undefined : (v as Ctx)[k];
      return v;
    }
    throw new Error(`helm-subset: unsupported operand ${w}`);
  }

  private call(fn: string, a: unknown[], root: Ctx): unknown {
    void root;
    switch (fn) {
      case 'include': {
        const body = this.defines.get(a[0] as string);
        if (!body) throw new Error(`helm-subset: no template named ${String(a[0])}`);
        return this.exec(body, a[1], root);
      }
      case 'nindent':
      case 'indent': {
        const pad = ' '.repeat(a[0] as number);
        const text = (typeof a[1] === 'string' ? a[1] : a[1] === undefined || a[1] === null ? '' : JSON.stringify(a[1])).replace(/\n$/, '').split('\n').map((l) => (l ? pad + l : l)).join('\n');
        return fn === 'nindent' ? '\n' + text : text;
      }
      case '.Files.Get':
        // A file of the chart, by its path from the chart's directory (helm's .Files.Get, for files it packages).
        return fs.readFileSync(path.join(this.chartDir, a[0] as string), 'utf8');
      case 'toYaml':
        return YAML.stringify(a[0], { lineWidth: 0 }).replace(/\n$/, '');
      case 'quote':
        return JSON.stringify(text(a[0]));
      case 'default':
        return truthy(a[1]) ? a[1] : a[0];
      case 'not':
        return !truthy(a[0]);
      case 'and':
        return a.every(truthy) ? a.at(-1) : a.find((x) => !truthy(x));
      case 'or':
        return a.find(truthy) ?? a.at(-1);
      case 'gt':
        return (a[0] as number) > (a[1] as number);
      default:
        throw new Error(`helm-subset: unsupported function ${fn}`);
    }
  }
}

/** How a value prints in a template: strings as they are, nothing for null, JSON for the rest. */
function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

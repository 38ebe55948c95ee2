/**
 * Structural diff of two JSON documents (state revisions), for History. The
 * API may send its own diff (JSON Patch, RFC 6902); `fromJsonPatch` renders
 * that the same way, so the page shows one kind of list either way.
 */

export type Change =
  | { op: 'add'; path: string; after: unknown }
  | { op: 'remove'; path: string; before: unknown }
  | { op: 'replace'; path: string; before: unknown; after: unknown };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Arrays of objects with a `name` or `id` are matched by that key, not position. */
function keyOf(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  const k = v.name ?? v.id;
  return typeof k === 'string' || typeof k === 'number' ? String(k) : undefined;
}

function join(path: string, seg: string): string {
  return path ? `${path}.${seg}` : seg;
}

/** Every leaf-level change from `a` to `b`, in document order; paths are dotted. */
export function diff(a: unknown, b: unknown, path = ''): Change[] {
  if (Object.is(a, b)) return [];
  if (isObj(a) && isObj(b)) {
    const out: Change[] = [];
    for (const k of Object.keys(a)) {
      if (!(k in b)) out.push({ op: 'remove', path: join(path, k), before: a[k] });
      else out.push(...diff(a[k], b[k], join(path, k)));
    }
    for (const k of Object.keys(b)) if (!(k in a)) out.push({ op: 'add', path: join(path, k), after: b[k] });
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const ka = a.map(keyOf);
    const kb = b.map(keyOf);
    const keyed = ka.every((k) => k !== undefined) && kb.every((k) => k !== undefined) && new Set(ka).size === ka.length && new Set(kb).size === kb.length;
    const out: Change[] = [];
    if (keyed) {
      const ib = new Map(kb.map((k, i) => [k!, i]));
      const ia = new Map(ka.map((k, i) => [k!, i]));
      ka.forEach((k, i) => {
        const j = ib.get(k!);
        if (j === undefined) out.push({ op: 'remove', path: join(path, k!), before: a[i] });
        else out.push(...diff(a[i], b[j], join(path, k!)));
      });
      kb.forEach((k, j) => {
        if (!ia.has(k!)) out.push({ op: 'add', path: join(path, k!), after: b[j] });
      });
      return out;
    }
    // Scalars (CIDR lists, user lists): removed and added values, not positions.
    if (a.every((x) => !isObj(x) && !Array.isArray(x)) && b.every((x) => !isObj(x) && !Array.isArray(x))) {
      for (const x of a) if (!b.includes(x)) out.push({ op: 'remove', path: join(path, '[]'), before: x });
      for (const x of b) if (!a.includes(x)) out.push({ op: 'add', path: join(path, '[]'), after: x });
      return out;
    }
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (i >= a.length) out.push({ op: 'add', path: join(path, String(i)), after: b[i] });
      else if (i >= b.length) out.push({ op: 'remove', path: join(path, String(i)), before: a[i] });
      else out.push(...diff(a[i], b[i], join(path, String(i))));
    }
    return out;
  }
  if (a === undefined) return [{ op: 'add', path, after: b }];
  if (b === undefined) return [{ op: 'remove', path, before: a }];
  return [{ op: 'replace', path, before: a, after: b }];
}

export interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
  /** The value before (cairnd's history keeps it as `old`; some tools say `oldValue`). */
  old?: unknown;
  oldValue?: unknown;
  from?: string;
}

/** "/shares/0/nfs/clients" → "shares.0.nfs.clients" (RFC 6901 escapes undone). */
export function pointerToDotted(ptr: string): string {
  return ptr
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** Renders RFC 6902 operations as changes (test operations are dropped). */
export function fromJsonPatch(ops: readonly JsonPatchOp[]): Change[] {
  const out: Change[] = [];
  for (const o of ops) {
    const path = pointerToDotted(o.path);
    if (o.op === 'add') out.push({ op: 'add', path, after: o.value });
    else if (o.op === 'remove') out.push({ op: 'remove', path, before: o.old ?? o.oldValue });
    else if (o.op === 'replace') out.push({ op: 'replace', path, before: o.old ?? o.oldValue, after: o.value });
    else if (o.op === 'move' || o.op === 'copy') out.push({ op: 'add', path, after: `(${o.op} from ${pointerToDotted(o.from ?? '')})` });
  }
  return out;
}

function leaves(v: unknown, path: string, out: Array<[string, unknown]>, max: number): void {
  if (out.length >= max) return;
  if (isObj(v) && Object.keys(v).length) {
    for (const [k, x] of Object.entries(v)) leaves(x, join(path, k), out, max);
  } else if (Array.isArray(v) && v.length && v.some((x) => isObj(x) || Array.isArray(x))) {
    v.forEach((x, i) => leaves(x, join(path, String(i)), out, max));
  } else {
    out.push([path, v]);
  }
}

/**
 * An added or removed object becomes one row per field ("shares.2.name",
 * "shares.2.nfs.enabled", …) so a reader sees what the new share holds; at
 * most `max` rows per change, the rest summarised in one row.
 */
export function expand(changes: readonly Change[], max = 40): Change[] {
  const out: Change[] = [];
  for (const c of changes) {
    if (c.op === 'replace') {
      out.push(c);
      continue;
    }
    const v = c.op === 'add' ? c.after : c.before;
    const rows: Array<[string, unknown]> = [];
    leaves(v, c.path, rows, max + 1);
    const shown = rows.slice(0, max);
    for (const [path, x] of shown) out.push(c.op === 'add' ? { op: 'add', path, after: x } : { op: 'remove', path, before: x });
    if (rows.length > max) out.push(c.op === 'add' ? { op: 'add', path: join(c.path, '…'), after: '(more fields)' } : { op: 'remove', path: join(c.path, '…'), before: '(more fields)' });
  }
  return out;
}

/**
 * "shares.2.nfs.enabled" → "shares[media].nfs.enabled" when the document
 * (the revision's state) names that element: indexes mean little to a reader.
 */
export function nameIndexes(path: string, doc: unknown): string {
  const segs = path.split('.');
  let node: unknown = doc;
  const out: string[] = [];
  for (const seg of segs) {
    if (Array.isArray(node) && /^\d+$/.test(seg)) {
      const el: unknown = node[Number(seg)];
      const k = keyOf(el);
      if (k !== undefined && out.length) out[out.length - 1] += `[${k}]`;
      else out.push(seg);
      node = el;
      continue;
    }
    out.push(seg);
    node = isObj(node) ? node[seg] : undefined;
  }
  return out.join('.');
}

/** A one-line rendering of a value for the diff table; secrets stay hidden. */
export function preview(v: unknown, path = '', max = 80): string {
  if (/(password|secret|hash|token)/i.test(path)) return '••••••';
  if (v === undefined) return '';
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, (k, x) => (/(password|secret|hash|token)/i.test(k) ? '••••••' : x));
  if (s === undefined) return String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Counts for a summary line: "2 added, 1 changed, 0 removed". */
export function summarize(changes: readonly Change[]): { add: number; remove: number; replace: number } {
  const c = { add: 0, remove: 0, replace: 0 };
  for (const x of changes) c[x.op]++;
  return c;
}

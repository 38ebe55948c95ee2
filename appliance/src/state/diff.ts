/**
 * A JSON-Patch-like diff (RFC 6902 operation names and JSON Pointer paths)
 * between two revisions of the state, for the history. Objects are compared
 * by key and arrays by index; `old` is kept on replace/remove so a reader
 * sees what changed without fetching both documents. Secret fields are
 * redacted by `redactDiff` before a diff leaves the appliance.
 */
import { SECRET_FIELDS } from './schema.js';

export interface DiffOp {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: unknown;
  old?: unknown;
}

const esc = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function diff(a: unknown, b: unknown, path = ''): DiffOp[] {
  if (a === b) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const ops: DiffOp[] = [];
    const common = Math.min(a.length, b.length);
    for (let i = 0; i < common; i++) ops.push(...diff(a[i], b[i], `${path}/${i}`));
    for (let i = common; i < b.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: b[i] });
    // Removals from the end first, so applying them in order keeps indexes valid.
    for (let i = a.length - 1; i >= common; i--) ops.push({ op: 'remove', path: `${path}/${i}`, old: a[i] });
    return ops;
  }
  if (isObject(a) && isObject(b)) {
    const ops: DiffOp[] = [];
    for (const k of Object.keys(a)) {
      if (!(k in b)) ops.push({ op: 'remove', path: `${path}/${esc(k)}`, old: a[k] });
      else ops.push(...diff(a[k], b[k], `${path}/${esc(k)}`));
    }
    for (const k of Object.keys(b)) if (!(k in a)) ops.push({ op: 'add', path: `${path}/${esc(k)}`, value: b[k] });
    return ops;
  }
  return [{ op: 'replace', path, value: b, old: a }];
}

/** A deep copy with every secret field's value replaced by '[redacted]'. */
export function redact<T>(v: T): T {
  if (Array.isArray(v)) return v.map(redact) as T;
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_FIELDS.has(k) ? '[redacted]' : redact(x);
    return out as T;
  }
  return v;
}

export function redactDiff(ops: DiffOp[]): DiffOp[] {
  return ops.map((o) => {
    const last = o.path.slice(o.path.lastIndexOf('/') + 1);
    if (SECRET_FIELDS.has(last)) {
      return { ...o, ...('value' in o ? { value: '[redacted]' } : {}), ...('old' in o ? { old: '[redacted]' } : {}) };
    }
    return { ...o, ...('value' in o ? { value: redact(o.value) } : {}), ...('old' in o ? { old: redact(o.old) } : {}) };
  });
}

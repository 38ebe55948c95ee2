/**
 * A small JSON Schema validator for the subset the API's schemas use
 * (TypeBox through @fastify/swagger's OpenAPI): type, properties, required,
 * additionalProperties, items, min/maxItems, uniqueItems, min/maxLength,
 * pattern, format, minimum/maximum (and exclusive), multipleOf, enum, const,
 * anyOf/oneOf/allOf, nullable and local $ref. It collects every error with
 * its field path, as the API does, so forms show them beside the fields
 * before a request is sent. Keywords it does not know are ignored: the
 * server validates again and has the last word.
 */

export type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  multipleOf?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  nullable?: boolean;
  title?: string;
  description?: string;
  default?: unknown;
  [k: string]: unknown;
};

export interface FieldError {
  /** Dotted path of the field: "nfs.clients.0.cidr"; "" for the whole body. */
  path: string;
  message: string;
}

/** Resolves "#/components/schemas/Share" style references. */
export type RefResolver = (ref: string) => Schema | undefined;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  const dbl = s.split('::');
  if (dbl.length > 2) return false;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  let parts = dbl.flatMap(groups);
  const last = parts[parts.length - 1];
  let extra = 0;
  if (last !== undefined && last.includes('.')) {
    if (!isIPv4(last)) return false;
    parts = parts.slice(0, -1);
    extra = 2;
  }
  if (!parts.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  const n = parts.length + extra;
  return dbl.length === 2 ? n < 8 : n === 8;
}

/** "10.0.0.0/8", "192.168.1.5" (a single host), "fd00::/8", "*" (everyone). */
export function isCidrOrHost(s: string): boolean {
  if (s === '*') return true;
  const slash = s.indexOf('/');
  if (slash === -1) return isIPv4(s) || isIPv6(s);
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  const b = Number(bits);
  if (isIPv4(addr)) return b <= 32;
  if (isIPv6(addr)) return b <= 128;
  return false;
}

const FORMATS: Record<string, (s: string) => boolean> = {
  ipv4: isIPv4,
  ipv6: isIPv6,
  cidr: isCidrOrHost,
  email: (s) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s),
  hostname: (s) => s.length <= 253 && /^(?!-)[a-zA-Z0-9-]{1,63}(?<!-)(\.(?!-)[a-zA-Z0-9-]{1,63}(?<!-))*$/.test(s),
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  'date-time': (s) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s),
};

const FORMAT_NAMES: Record<string, string> = {
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  cidr: 'an address or network like 192.168.1.0/24',
  email: 'an e-mail address',
  hostname: 'a host name',
  uuid: 'a UUID',
  'date-time': 'a date and time',
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeOk(want: string, v: unknown): boolean {
  const t = typeOf(v);
  return want === t || (want === 'number' && t === 'integer');
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'yes or no',
  array: 'a list',
  object: 'an object',
  null: 'empty',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Validates `value` against `schema`; returns every error found (empty when valid). */
export function validate(schema: Schema, value: unknown, resolveRef: RefResolver = () => undefined): FieldError[] {
  const errors: FieldError[] = [];
  walk(schema, value, [], errors, resolveRef, 0);
  return errors;
}

function walk(schema: Schema, v: unknown, path: string[], errors: FieldError[], ref: RefResolver, depth: number): void {
  const at = path.join('.');
  const err = (message: string) => errors.push({ path: at, message });
  if (depth > 64) return;
  if (schema.$ref) {
    const target = ref(schema.$ref);
    if (target) walk(target, v, path, errors, ref, depth + 1);
    return;
  }
  if (v === null && schema.nullable) return;
  if (schema.allOf) for (const s of schema.allOf) walk(s, v, path, errors, ref, depth + 1);
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts) {
    const results = alts.map((s) => {
      const e: FieldError[] = [];
      walk(s, v, path, e, ref, depth + 1);
      return e;
    });
    if (!results.some((e) => e.length === 0)) {
      // Literal unions (TypeBox's enums) read best as one list.
      const consts = alts.map((s) => s.const ?? (s.enum?.length === 1 ? s.enum[0] : undefined));
      if (consts.every((c) => c !== undefined)) {
        err(`Must be one of: ${consts.map(show).join(', ')}.`);
      } else {
        // Report the alternative that got furthest (fewest errors).
        const best = results.reduce((a, b) => (b.length < a.length ? b : a));
        errors.push(...best);
      }
    }
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeOk(t, v)) && !(v === null && schema.nullable)) {
      err(`Must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(' or ')}.`);
      return;
    }
  }
  if (schema.const !== undefined && !deepEqual(schema.const, v)) err(`Must be ${show(schema.const)}.`);
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, v))) err(`Must be one of: ${schema.enum.map(show).join(', ')}.`);

  if (typeof v === 'string') {
    const len = [...v].length;
    if (schema.minLength !== undefined && len < schema.minLength) {
      err(schema.minLength === 1 ? 'Required.' : `Must be at least ${plural(schema.minLength, 'character')}.`);
    }
    if (schema.maxLength !== undefined && len > schema.maxLength) err(`Must be at most ${plural(schema.maxLength, 'character')}.`);
    if (schema.pattern !== undefined) {
      let re: RegExp | null = null;
      try {
        re = new RegExp(schema.pattern, 'u');
      } catch {
        re = null;
      }
      if (re && !re.test(v)) err(patternMessage(schema));
    }
    if (schema.format !== undefined) {
      const f = FORMATS[schema.format];
      if (f && !f(v)) err(`Must be ${FORMAT_NAMES[schema.format] ?? schema.format}.`);
    }
  }
  if (typeof v === 'number') {
    if (schema.minimum !== undefined && v < schema.minimum) err(`Must be at least ${schema.minimum}.`);
    if (schema.maximum !== undefined && v > schema.maximum) err(`Must be at most ${schema.maximum}.`);
    if (typeof schema.exclusiveMinimum === 'number' && v <= schema.exclusiveMinimum) err(`Must be more than ${schema.exclusiveMinimum}.`);
    if (typeof schema.exclusiveMaximum === 'number' && v >= schema.exclusiveMaximum) err(`Must be less than ${schema.exclusiveMaximum}.`);
    if (schema.multipleOf !== undefined && Math.abs(v / schema.multipleOf - Math.round(v / schema.multipleOf)) > 1e-9) {
      err(`Must be a multiple of ${schema.multipleOf}.`);
    }
  }
  if (Array.isArray(v)) {
    if (schema.minItems !== undefined && v.length < schema.minItems) {
      err(schema.minItems === 1 ? 'Add at least one.' : `Needs at least ${schema.minItems} entries.`);
    }
    if (schema.maxItems !== undefined && v.length > schema.maxItems) err(`At most ${plural(schema.maxItems, 'entry')}.`.replace('entrys', 'entries'));
    if (schema.uniqueItems) {
      for (let i = 0; i < v.length; i++) {
        for (let j = 0; j < i; j++) {
          if (deepEqual(v[i], v[j])) {
            errors.push({ path: [...path, String(i)].join('.'), message: `Appears twice: ${show(v[i])}.` });
          }
        }
      }
    }
    if (schema.items) v.forEach((x, i) => walk(schema.items!, x, [...path, String(i)], errors, ref, depth + 1));
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of schema.required ?? []) {
      if (o[k] === undefined) errors.push({ path: [...path, k].join('.'), message: 'Required.' });
    }
    const props = schema.properties ?? {};
    for (const [k, x] of Object.entries(o)) {
      if (x === undefined) continue;
      const ps = props[k];
      if (ps) walk(ps, x, [...path, k], errors, ref, depth + 1);
      else if (schema.additionalProperties === false) {
        errors.push({ path: [...path, k].join('.'), message: `Unknown field "${k}".` });
      } else if (typeof schema.additionalProperties === 'object') {
        walk(schema.additionalProperties, x, [...path, k], errors, ref, depth + 1);
      }
    }
  }
}

function patternMessage(schema: Schema): string {
  if (typeof schema.description === 'string' && schema.description.length < 120) return `${schema.description.replace(/\.$/, '')}.`;
  if (typeof schema['x-pattern-message'] === 'string') return schema['x-pattern-message'];
  return `Does not have the expected form (${schema.pattern}).`;
}

/**
 * The API and ajv may spell a path as "/nfs/clients/0", "nfs.clients[0]" or
 * "nfs.clients.0" (and ajv's "body/..." prefix): all become "nfs.clients.0".
 */
export function normalizePath(p: string): string {
  return p
    .replace(/^(\/?body)(?=[/.[]|$)/, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\//g, '.')
    .replace(/^\.+|\.+$/g, '')
    .replace(/\.{2,}/g, '.');
}

/** Groups errors by normalised field path: { "name": ["Required."] }. */
export function byField(errors: readonly FieldError[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    const k = normalizePath(e.path);
    (out[k] ??= []).push(e.message);
  }
  return out;
}

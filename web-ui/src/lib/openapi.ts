/**
 * Reads the API's own OpenAPI document (/api/v1/openapi.json) so that forms
 * validate with the exact schemas the server enforces.
 */
import { validate, type FieldError, type Schema } from './validate.js';

export interface OpenApiDoc {
  openapi?: string;
  paths?: Record<string, Record<string, Operation | undefined> | undefined>;
  components?: { schemas?: Record<string, Schema> };
}

interface Operation {
  requestBody?: { content?: Record<string, { schema?: Schema } | undefined> };
  parameters?: unknown[];
  summary?: string;
}

/** Does a concrete path ("/api/v1/shares/media") match a template ("/api/v1/shares/{name}")? */
export function pathMatches(template: string, path: string): boolean {
  const t = template.split('/').filter(Boolean);
  const p = path.split('?')[0]!.split('/').filter(Boolean);
  if (t.length !== p.length) return false;
  return t.every((seg, i) => (seg.startsWith('{') && seg.endsWith('}') ? p[i] !== '' : seg === p[i]));
}

export class ApiSchemas {
  constructor(readonly doc: OpenApiDoc) {}

  /** Resolves a local "#/components/schemas/X" (or any "#/a/b") reference. */
  resolveRef = (ref: string): Schema | undefined => {
    if (!ref.startsWith('#/')) return undefined;
    let node: unknown = this.doc;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (typeof node !== 'object' || node === null) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    return (node ?? undefined) as Schema | undefined;
  };

  /** The operation for a method and concrete path; exact templates win over parameterised ones. */
  operation(method: string, path: string): Operation | undefined {
    const m = method.toLowerCase();
    const paths = this.doc.paths ?? {};
    const bare = path.split('?')[0]!;
    const exact = paths[bare]?.[m];
    if (exact) return exact;
    for (const [tpl, ops] of Object.entries(paths)) {
      if (ops?.[m] && pathMatches(tpl, bare)) return ops[m];
    }
    return undefined;
  }

  /** Whether the API has this route at all (for pages built ahead of the API). */
  has(method: string, path: string): boolean {
    return this.operation(method, path) !== undefined;
  }

  /** The JSON request-body schema of a route, if it declares one. */
  requestSchema(method: string, path: string): Schema | undefined {
    const content = this.operation(method, path)?.requestBody?.content;
    return content?.['application/json']?.schema;
  }

  /** Validates a body against the route's schema; no schema means no client-side errors. */
  check(method: string, path: string, body: unknown): FieldError[] {
    const schema = this.requestSchema(method, path);
    return schema ? validate(schema, body, this.resolveRef) : [];
  }

  /** Does the route's body (any alternative of a union) have this top-level property? */
  accepts(method: string, path: string, property: string): boolean {
    const has = (s: Schema | undefined, depth = 0): boolean => {
      while (s?.$ref) s = this.resolveRef(s.$ref);
      if (!s || depth > 8) return false;
      if (s.properties && property in s.properties) return true;
      return [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])].some((x) => has(x, depth + 1));
    };
    return has(this.requestSchema(method, path));
  }

  /** The schema of one field of a route's body (for maxLength hints, enums, descriptions). */
  field(method: string, path: string, dotted: string): Schema | undefined {
    let s = this.requestSchema(method, path);
    for (const seg of dotted.split('.').filter(Boolean)) {
      while (s?.$ref) s = this.resolveRef(s.$ref);
      if (!s) return undefined;
      s = /^\d+$/.test(seg) ? s.items : s.properties?.[seg];
    }
    while (s?.$ref) s = this.resolveRef(s.$ref);
    return s;
  }
}

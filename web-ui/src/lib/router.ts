/**
 * A tiny hash router. Routes are patterns like `/shares/:kind/:name`;
 * `#/shares/nfs/media?tab=edit` matches with params {kind: 'nfs', name:
 * 'media'} and query {tab: 'edit'}. Hash routing needs no server fallback:
 * cairnd serves web-ui/dist as plain static files.
 */

export interface Location {
  path: string;
  query: Record<string, string>;
}

export interface Match<T> {
  route: T;
  params: Record<string, string>;
}

/** Splits a location hash (`#/a/b?x=1`) into a normalised path and query. */
export function parseHash(hash: string): Location {
  let h = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!h.startsWith('/')) h = '/' + h;
  const q = h.indexOf('?');
  const rawPath = q === -1 ? h : h.slice(0, q);
  const query: Record<string, string> = {};
  if (q !== -1) {
    for (const [k, v] of new URLSearchParams(h.slice(q + 1))) query[k] = v;
  }
  const path = '/' + rawPath.split('/').filter(Boolean).join('/');
  return { path, query };
}

/** Builds a hash from a pattern and params, encoding each segment. */
export function href(pattern: string, params: Record<string, string> = {}): string {
  const path = pattern
    .split('/')
    .map((seg) => {
      if (!seg.startsWith(':')) return seg;
      const v = params[seg.slice(1)];
      if (v === undefined) throw new Error(`href: missing parameter ${seg} for ${pattern}`);
      return encodeURIComponent(v);
    })
    .join('/');
  return '#' + path;
}

/** Does `path` match `pattern`? Returns the decoded params or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split('/').filter(Boolean);
  const xs = path.split('/').filter(Boolean);
  if (ps.length !== xs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    const x = xs[i]!;
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(x);
      } catch {
        return null;
      }
    } else if (p !== x) {
      return null;
    }
  }
  return params;
}

/** The first route (in table order) whose pattern matches the path. */
export function resolve<T extends { path: string }>(routes: readonly T[], path: string): Match<T> | null {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params) return { route, params };
  }
  return null;
}

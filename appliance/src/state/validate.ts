/**
 * Validation of the whole state document: the JSON Schema (ajv, all errors)
 * and then the rules a schema cannot say — names unique, references that
 * point at existing pools, volumes, users and groups, NFS client matches
 * that are IPs or networks. Every problem is collected with its dotted
 * field path (`shares.2.nfs.clients.0.match`), never just the first.
 */
import { isIP } from 'node:net';
import { Ajv, type ErrorObject } from 'ajv';
import { StateSchema, type State } from './schema.js';

export interface FieldError {
  /** Dotted path into the document or request body, '' for the whole. */
  path: string;
  message: string;
}

export class StateValidationError extends Error {
  constructor(readonly fields: FieldError[]) {
    super(`the state is not valid: ${fields.map((f) => `${f.path || '(document)'}: ${f.message}`).join('; ')}`);
    this.name = 'StateValidationError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const checkSchema = ajv.compile(StateSchema);

/** ajv's errors as dotted paths, with the property name added for missing/extra ones. */
export function ajvFieldErrors(errors: ErrorObject[] | null | undefined, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    let path = e.instancePath.split('/').filter(Boolean).map(unescapePointer);
    let message = e.message ?? 'is not valid';
    if (e.keyword === 'required') path = [...path, String((e.params as { missingProperty: string }).missingProperty)];
    if (e.keyword === 'required') message = 'is required';
    if (e.keyword === 'additionalProperties') {
      path = [...path, String((e.params as { additionalProperty: string }).additionalProperty)];
      message = 'is not a known field';
    }
    if (e.keyword === 'anyOf') message = 'matches none of the allowed shapes';
    if (e.keyword === 'const' || e.keyword === 'enum') {
      const allowed = (e.params as { allowedValue?: unknown; allowedValues?: unknown[] });
      message = `must be ${JSON.stringify(allowed.allowedValue ?? allowed.allowedValues)}`;
    }
    const full = [prefix, ...path].filter(Boolean).join('.');
    const key = `${full}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path: full, message });
  }
  // A failed union reports every branch; keep the most specific messages.
  const specific = out.filter((f) => f.message !== 'matches none of the allowed shapes');
  return specific.length ? collapseUnionNoise(specific) : out;
}

function collapseUnionNoise(fields: FieldError[]): FieldError[] {
  // `must be "local"` next to `must be "gluster"` on the same path: merge.
  const byPath = new Map<string, FieldError[]>();
  for (const f of fields) byPath.set(f.path, [...(byPath.get(f.path) ?? []), f]);
  const out: FieldError[] = [];
  for (const [path, list] of byPath) {
    const consts = list.filter((f) => f.message.startsWith('must be "'));
    if (consts.length > 1) {
      out.push({ path, message: `must be one of ${consts.map((f) => f.message.slice(8)).join(', ')}` });
      out.push(...list.filter((f) => !consts.includes(f)));
    } else out.push(...list);
  }
  return out;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** True for '*', an IPv4/IPv6 address, or a CIDR network (addr/len). */
export function isClientMatch(match: string): boolean {
  if (match === '*') return true;
  const [addr, len, extra] = match.split('/');
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (len === undefined) return true;
  if (!/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (family === 4 ? 32 : 128);
}

/**
 * Clustered SMB: public addresses that CTDB can place, names in the node
 * table once. `at` prefixes the paths ('cluster.smb' in the document, ''
 * for the API's request body).
 */
export function clusterSmbErrors(smb: Pick<NonNullable<State['cluster']>['smb'], 'enabled' | 'publicAddresses'> & { nodes?: (string | null)[] }, at: string, out: FieldError[]): void {
  const p = (rest: string) => [at, rest].filter(Boolean).join('.');
  smb.publicAddresses.forEach((a, i) => {
    const family = isIP(a.address);
    if (family === 0) out.push({ path: p(`publicAddresses.${i}.address`), message: 'must be an IPv4 or IPv6 address, without a prefix' });
    else if (family === 4 && a.prefix > 32) out.push({ path: p(`publicAddresses.${i}.prefix`), message: 'an IPv4 prefix is at most 32' });
  });
  duplicates(smb.publicAddresses, (a) => a.address, p('publicAddresses'), 'address', out);
  if (smb.enabled && smb.publicAddresses.length === 0) out.push({ path: p('publicAddresses'), message: 'clustered SMB needs at least one public address for clients' });
  const named = (smb.nodes ?? []).map((n, i) => ({ n, i })).filter((x): x is { n: string; i: number } => x.n !== null);
  const seen = new Map<string, number>();
  for (const { n, i } of named) {
    const first = seen.get(n);
    if (first !== undefined) out.push({ path: p(`nodes.${i}`), message: `${JSON.stringify(n)} already has PNN ${first}` });
    else seen.set(n, i);
  }
}

/** Checks a whole document; throws StateValidationError with every problem found. */
export function validateState(doc: unknown): asserts doc is State {
  if (!checkSchema(doc)) throw new StateValidationError(ajvFieldErrors(checkSchema.errors));
  const errors = semanticErrors(doc as State);
  if (errors.length) throw new StateValidationError(errors);
}

function duplicates<T>(items: T[], key: (t: T) => string | number, path: string, what: string, out: FieldError[]): void {
  const seen = new Map<string | number, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) out.push({ path: `${path}.${i}`, message: `${what} ${JSON.stringify(k)} is already used by ${path}.${first}` });
    else seen.set(k, i);
  });
}

export function semanticErrors(s: State): FieldError[] {
  const out: FieldError[] = [];
  duplicates(s.pools, (p) => p.id, 'pools', 'pool id', out);
  duplicates(s.volumes, (v) => v.id, 'volumes', 'volume id', out);
  duplicates(s.shares, (x) => x.name.toLowerCase(), 'shares', 'share name', out);
  duplicates(s.users, (u) => u.name, 'users', 'user name', out);
  duplicates(s.users, (u) => u.uid, 'users', 'uid', out);
  duplicates(s.groups, (g) => g.name, 'groups', 'group name', out);
  duplicates(s.groups, (g) => g.gid, 'groups', 'gid', out);

  const pools = new Map(s.pools.map((p) => [p.id, p]));
  const volumes = new Map(s.volumes.map((v) => [v.id, v]));
  const users = new Set(s.users.map((u) => u.name));
  const groups = new Set(s.groups.map((g) => g.name));

  const localPaths = new Map<string, number>();
  s.pools.forEach((p, i) => {
    if (p.kind === 'local') {
      const norm = p.path.replace(/\/+$/, '');
      for (const [other, j] of localPaths) {
        if (norm === other || norm.startsWith(`${other}/`) || other.startsWith(`${norm}/`)) {
          out.push({ path: `pools.${i}.path`, message: `overlaps the directory of pools.${j} (${other})` });
        }
      }
      localPaths.set(norm, i);
    }
    if (p.kind === 'gluster') {
      if (p.arbiter && p.replica < 2) out.push({ path: `pools.${i}.arbiter`, message: 'an arbiter needs replica 2 or more' });
      if (p.bricks.length && p.bricks.length % (p.replica + p.arbiter) !== 0) {
        out.push({ path: `pools.${i}.bricks`, message: `the number of bricks must be a multiple of replica + arbiter (${p.replica + p.arbiter})` });
      }
    }
  });
  s.volumes.forEach((v, i) => {
    if (!pools.has(v.pool)) out.push({ path: `volumes.${i}.pool`, message: `pool ${JSON.stringify(v.pool)} does not exist` });
  });
  s.shares.forEach((sh, i) => {
    const at = `shares.${i}`;
    if (!pools.has(sh.pool)) out.push({ path: `${at}.pool`, message: `pool ${JSON.stringify(sh.pool)} does not exist` });
    if (sh.volume !== undefined) {
      const v = volumes.get(sh.volume);
      if (!v) out.push({ path: `${at}.volume`, message: `volume ${JSON.stringify(sh.volume)} does not exist` });
      else if (v.pool !== sh.pool) out.push({ path: `${at}.volume`, message: `volume ${JSON.stringify(sh.volume)} is in pool ${JSON.stringify(v.pool)}, not ${JSON.stringify(sh.pool)}` });
    }
    sh.nfs.clients.forEach((c, j) => {
      if (!isClientMatch(c.match)) out.push({ path: `${at}.nfs.clients.${j}.match`, message: "must be '*', an IP address or a CIDR network such as 10.0.0.0/24" });
    });
    if (sh.nfs.enabled && sh.nfs.clients.length === 0) out.push({ path: `${at}.nfs.clients`, message: 'an enabled NFS export needs at least one client rule' });
    sh.smb.validUsers.forEach((u, j) => {
      if (!users.has(u)) out.push({ path: `${at}.smb.validUsers.${j}`, message: `user ${JSON.stringify(u)} does not exist` });
    });
    sh.smb.validGroups.forEach((g, j) => {
      if (!groups.has(g)) out.push({ path: `${at}.smb.validGroups.${j}`, message: `group ${JSON.stringify(g)} does not exist` });
    });
    sh.smb.hostsAllow.forEach((h, j) => {
      if (!isClientMatch(h)) out.push({ path: `${at}.smb.hostsAllow.${j}`, message: "must be '*', an IP address or a CIDR network" });
    });
    if (sh.smb.timeMachine && !sh.smb.macos) out.push({ path: `${at}.smb.timeMachine`, message: 'Time Machine needs the macOS option (macos: true)' });
  });
  if (s.cluster) clusterSmbErrors(s.cluster.smb, 'cluster.smb', out);
  s.groups.forEach((g, i) => {
    g.members.forEach((m, j) => {
      if (!users.has(m)) out.push({ path: `groups.${i}.members.${j}`, message: `user ${JSON.stringify(m)} does not exist` });
    });
  });
  return out;
}

/**
 * Schema migrations: each entry turns a document of version N into N+1.
 * `migrate` applies them in order up to SCHEMA_VERSION; the store runs it on
 * load and on rollback to an old revision, and the result is validated like
 * any other change. A document newer than this cairnd is refused (an older
 * cairnd must not guess at fields it does not know).
 */
import { DEFAULT_CLUSTER_SETTINGS, SCHEMA_VERSION } from './schema.js';

type Doc = Record<string, unknown>;
type Migration = (doc: Doc) => Doc;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Version 1 (the first control-plane draft) → 2:
 * - settings.hostname became settings.applianceName; settings gained
 *   timezone, smb.workgroup and nfs.port;
 * - users gained `enabled` (all v1 users were active);
 * - NFS clients were exports(5)-style strings, e.g. "10.0.0.0/24(rw,no_root_squash)",
 *   and became objects {match, access, squash, anonUid, anonGid, secure}.
 */
function v1ToV2(doc: Doc): Doc {
  const settings = (doc.settings ?? {}) as Doc;
  const { hostname, ...rest } = settings;
  const out: Doc = {
    ...doc,
    schemaVersion: 2,
    settings: {
      applianceName: rest.applianceName ?? hostname ?? 'cairn',
      timezone: rest.timezone ?? 'UTC',
      smb: rest.smb ?? { workgroup: 'WORKGROUP' },
      nfs: rest.nfs ?? { port: 2049 },
    },
    users: ((doc.users ?? []) as Doc[]).map((u) => ({ ...u, enabled: u.enabled ?? true })),
    shares: ((doc.shares ?? []) as Doc[]).map((sh) => {
      const nfs = (sh.nfs ?? { enabled: false, clients: [] }) as Doc;
      return { ...sh, nfs: { ...nfs, clients: ((nfs.clients ?? []) as unknown[]).map(parseV1Client) } };
    }),
  };
  return out;
}

/** "10.0.0.0/24(rw,no_root_squash,anonuid=1000)" → a v2 client object. */
export function parseV1Client(c: unknown): unknown {
  if (typeof c !== 'string') return c;
  const m = /^([^()\s]+)(?:\(([^()]*)\))?$/.exec(c.trim());
  if (!m) throw new MigrationError(`NFS client ${JSON.stringify(c)} is not of the form HOST(OPTIONS)`);
  const client = { match: m[1]!, access: 'ro', squash: 'root_squash', anonUid: 65534, anonGid: 65534, secure: true };
  for (const opt of (m[2] ?? '').split(',').map((o) => o.trim()).filter(Boolean)) {
    const [k, v] = opt.split('=');
    if (k === 'rw' || k === 'ro') client.access = k;
    else if (k === 'root_squash' || k === 'all_squash' || k === 'no_root_squash') client.squash = k;
    else if (k === 'secure') client.secure = true;
    else if (k === 'insecure') client.secure = false;
    else if (k === 'anonuid' && v !== undefined) client.anonUid = Number(v);
    else if (k === 'anongid' && v !== undefined) client.anonGid = Number(v);
    else throw new MigrationError(`NFS client option ${JSON.stringify(opt)} in ${JSON.stringify(c)} is not supported`);
  }
  return client;
}

/**
 * Version 2 → 3: cluster-wide settings (clustered SMB with CTDB), off.
 * The version moves so that an older cairnd in the same cluster refuses
 * the shared document instead of writing it back without this part.
 */
function v2ToV3(doc: Doc): Doc {
  return { ...doc, schemaVersion: 3, cluster: doc.cluster ?? structuredClone(DEFAULT_CLUSTER_SETTINGS) };
}

/** MIGRATIONS[n] migrates version n to n+1. */
const MIGRATIONS: Record<number, Migration> = { 1: v1ToV2, 2: v2ToV3 };

export function migrate(doc: unknown): { doc: unknown; from: number } {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new MigrationError('the state document is not a JSON object');
  const from = (doc as Doc).schemaVersion;
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 1) {
    throw new MigrationError(`the state document has no valid schemaVersion (${JSON.stringify(from)})`);
  }
  if (from > SCHEMA_VERSION) {
    throw new MigrationError(`the state document has schema version ${from}, newer than this cairnd understands (${SCHEMA_VERSION}): upgrade cairnd`);
  }
  let cur = doc as Doc;
  for (let v = from; v < SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new MigrationError(`no migration from schema version ${v}`);
    cur = step(structuredClone(cur));
  }
  return { doc: cur, from };
}

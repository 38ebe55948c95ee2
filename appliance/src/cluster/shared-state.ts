/**
 * Which parts of the desired state are the cluster's and which stay on
 * one appliance (pure functions; state-sync.ts moves them).
 *
 * Cluster-wide — one copy, in the shared document on the `cairn-state`
 * volume, the same on every appliance:
 *   - pools of kind `gluster` (their bricks name their hosts),
 *   - volumes and shares whose pool is a gluster pool,
 *   - users and groups (every appliance serves the same SMB users; the
 *     console's admins are the same everywhere),
 *   - `cluster` (clustered SMB: CTDB on or off, the cluster's NetBIOS
 *     name, public addresses, the PNN table; cluster/smb-cluster.ts).
 *
 * Local — this appliance only, in DATA_DIR/state as before:
 *   - `settings` (appliance name, time zone, workgroup, NFS port),
 *   - pools of kind `local` (a directory of this appliance, unreplicated)
 *     and the volumes and shares on them: another appliance has no such
 *     directory, so it must not try to serve them,
 *   - outside the document: disks and prepared bricks, this appliance's
 *     cluster record (DATA_DIR/cluster/cluster.json), the NFS handle secret
 *     file, console sessions, API tokens, the setup token, the audit log.
 *
 * The document every driver and route sees is still one `State`:
 * `mergeState(local, shared)`. A change is made on that merged document;
 * `splitState` tells the cluster sync whether its shared part changed.
 * Object names stay unique across both parts (validateState on the
 * merged document).
 */
import { DEFAULT_CLUSTER_SETTINGS, SCHEMA_VERSION, type ClusterSettings, type GlusterPool, type Group, type Share, type State, type User, type Volume } from '../state/schema.js';

/** The cluster-wide part of the state, as stored on the state volume. */
export interface SharedPart {
  schemaVersion: number;
  pools: GlusterPool[];
  volumes: Volume[];
  shares: Share[];
  users: User[];
  groups: Group[];
  cluster: ClusterSettings;
}

/** Pure: the cluster-wide part of `s`, objects in document order. */
export function sharedPartOf(s: State): SharedPart {
  const local = localPoolIds(s);
  return {
    schemaVersion: s.schemaVersion,
    pools: s.pools.filter((p): p is GlusterPool => p.kind === 'gluster'),
    volumes: s.volumes.filter((v) => !local.has(v.pool)),
    shares: s.shares.filter((x) => !local.has(x.pool)),
    users: [...s.users],
    groups: [...s.groups],
    cluster: structuredClone(s.cluster ?? DEFAULT_CLUSTER_SETTINGS),
  };
}

/**
 * Pure: `local`'s own parts (settings, local pools with their volumes and
 * shares) with the cluster-wide part replaced by `shared`. Local objects
 * come first, then the cluster's, each in their own order.
 */
export function mergeState(local: State, shared: SharedPart): State {
  const ids = localPoolIds(local);
  return {
    schemaVersion: local.schemaVersion,
    settings: structuredClone(local.settings),
    pools: [...local.pools.filter((p) => p.kind === 'local'), ...shared.pools].map((x) => structuredClone(x)),
    volumes: [...local.volumes.filter((v) => ids.has(v.pool)), ...shared.volumes].map((x) => structuredClone(x)),
    shares: [...local.shares.filter((x) => ids.has(x.pool)), ...shared.shares].map((x) => structuredClone(x)),
    users: shared.users.map((x) => structuredClone(x)),
    groups: shared.groups.map((x) => structuredClone(x)),
    cluster: structuredClone(shared.cluster ?? DEFAULT_CLUSTER_SETTINGS),
  };
}

/** Pure: a stable text of a shared part, to compare two of them. */
export function sharedKey(p: SharedPart): string {
  return JSON.stringify(p);
}

/**
 * A shared document of the previous schema (2, written before clustered
 * SMB existed) gets the default cluster settings, as the state migration
 * does; anything else is returned as it is.
 */
export function upgradeSharedPart(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const p = v as Record<string, unknown>;
  if (p.schemaVersion !== 2 || SCHEMA_VERSION !== 3) return v;
  return { ...p, schemaVersion: 3, cluster: p.cluster ?? structuredClone(DEFAULT_CLUSTER_SETTINGS) };
}

/** Whether a shared document read from the volume is one this cairnd can use. */
export function checkSharedPart(v: unknown): v is SharedPart {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  if (typeof p.cluster !== 'object' || p.cluster === null) return false;
  return p.schemaVersion === SCHEMA_VERSION && ['pools', 'volumes', 'shares', 'users', 'groups'].every((k) => Array.isArray(p[k]));
}

function localPoolIds(s: State): Set<string> {
  return new Set(s.pools.filter((p) => p.kind === 'local').map((p) => p.id));
}

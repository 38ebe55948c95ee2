/**
 * Clustered SMB from the cluster's shared state: what the SMB driver's
 * `cluster` callback (smb/driver.ts header) gets on every apply.
 *
 * The setting is cluster-wide (`state.cluster.smb`, shared-state.ts):
 * enabled, the cluster's NetBIOS name, the public addresses, and `nodes`,
 * CTDB's node table by host name. CTDB identifies a node by its PNN, the
 * line number in its nodes file, which must be the same on every node and
 * must not move while the cluster runs. Gluster's pool list has no stable
 * order (glusterd lists peers as it loaded them), so the order is kept in
 * the shared document itself:
 *   - enabling (PUT /cluster/smb) keeps the table, sets the slots of host
 *     names that left the pool to null and appends members that have no
 *     slot yet (sorted by name, so two writers would append alike);
 *   - adding an appliance appends it (POST /cluster/members);
 *   - removing one sets its slot to null, never shortening the list, so
 *     every other member keeps its PNN; a name that comes back later gets
 *     a new slot at the end.
 * Deriving is also safe before the table is updated: a table name that is
 * no member of the pool any more is a null slot, a member without a slot
 * is left out (it serves SMB standalone until it gets one).
 *
 * Null (standalone SMB) while: disabled, alone (fewer than two members),
 * or this appliance has no slot. The lock directory is the `cairn-state`
 * mount, DATA_DIR/cluster/state, the same path on every appliance.
 */
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import type { SmbClusterSettings } from '../smb/driver.js';
import { DEFAULT_CLUSTER_SETTINGS, type ClusterSmb, type State } from '../state/schema.js';

/** What the derivation needs of a member (cluster.ts Member). */
export interface SmbMember {
  hostname: string;
  self: boolean;
}

/** Pure: `table` with departed names set to null and members without a slot appended (sorted). */
export function nodeTableWith(table: readonly (string | null)[], members: readonly { hostname: string }[]): (string | null)[] {
  const names = new Set(members.map((m) => m.hostname));
  const out = table.map((n) => (n !== null && names.has(n) ? n : null));
  const have = new Set(out.filter((n): n is string => n !== null));
  for (const n of [...names].filter((x) => !have.has(x)).sort()) out.push(n);
  return out;
}

/** Pure: `table` with `hostname`'s slot set to null (a removed member). */
export function nodeTableWithout(table: readonly (string | null)[], hostname: string): (string | null)[] {
  return table.map((n) => (n === hostname ? null : n));
}

/** Pure: `table` with `hostnames` appended when they have no slot yet. */
export function nodeTableAppend(table: readonly (string | null)[], hostnames: readonly string[]): (string | null)[] {
  const out = [...table];
  for (const h of hostnames) if (!out.includes(h)) out.push(h);
  return out;
}

export function clusterSmbOf(state: State): ClusterSmb {
  return state.cluster?.smb ?? DEFAULT_CLUSTER_SETTINGS.smb;
}

/**
 * The settings for SmbDriver, or null for standalone SMB. `resolve` turns
 * a member's host name into the private address CTDB uses (its nodes file
 * takes addresses only); it throws for a name that does not resolve.
 */
export async function smbClusterSettingsOf(
  state: State,
  members: readonly SmbMember[],
  lockDir: string,
  resolve: (hostname: string) => Promise<string>,
): Promise<SmbClusterSettings | null> {
  const smb = clusterSmbOf(state);
  if (!smb.enabled || members.length < 2) return null;
  const self = members.find((m) => m.self);
  if (!self || !smb.nodes.includes(self.hostname)) return null;
  const current = new Set(members.map((m) => m.hostname));
  const nodes = await Promise.all(smb.nodes.map((n) => (n !== null && current.has(n) ? resolve(n) : Promise.resolve(null))));
  return {
    enabled: true,
    nodes,
    nodeAddress: nodes[smb.nodes.indexOf(self.hostname)]!,
    publicAddresses: smb.publicAddresses.map((a) => ({ address: a.address, prefix: a.prefix, interfaces: [...a.interfaces] })),
    lockDir,
    netbiosName: smb.netbiosName.toUpperCase(),
  };
}

export interface SmbClusterCallbackOptions {
  dataDir: string;
  store: { readonly state: State };
  cluster: { record(): Promise<unknown>; members(): Promise<SmbMember[]>; sharedState?(): { mounted: boolean } | undefined };
  log?: { warn(o: object, msg: string): void };
  /** Host name → address (default: the system resolver, /etc/hosts first). */
  resolve?: (hostname: string) => Promise<string>;
}

/**
 * The SMB driver's `cluster` callback for cairnd (main.ts). An appliance
 * that never joined a cluster asks nothing of glusterd (standalone as
 * before). When glusterd cannot be asked, the last settings are kept: a
 * glusterd restart must not turn clustered SMB off and on again. CTDB is
 * never started on the bare mount point: while the `cairn-state` volume is
 * not mounted there, the callback fails (the SMB driver reports it and
 * retries) unless CTDB already runs.
 */
export function smbClusterCallback(opts: SmbClusterCallbackOptions): () => Promise<SmbClusterSettings | null> {
  const resolve = opts.resolve ?? (async (h: string) => (await lookup(h)).address);
  const lockDir = join(opts.dataDir, 'cluster', 'state');
  let last: SmbClusterSettings | null = null;
  return async () => {
    if (!clusterSmbOf(opts.store.state).enabled) return (last = null);
    if (!(await opts.cluster.record())) return (last = null);
    try {
      const next = await smbClusterSettingsOf(opts.store.state, await opts.cluster.members(), lockDir, resolve);
      if (next && opts.cluster.sharedState?.()?.mounted === false) {
        if (last) return last;
        throw new Error(`clustered SMB waits for the cairn-state volume to be mounted at ${lockDir} (CTDB's lock)`);
      }
      last = next;
    } catch (err) {
      if (!last) throw err;
      opts.log?.warn({ err, kept: last !== null }, 'clustered SMB: members or their addresses not known now; keeping the last settings');
    }
    return last;
  };
}

/** A CTDB node's health in one word: the first flag set, else ok (ctdb(1) "status"). */
export type CtdbNodeHealth = 'ok' | 'disconnected' | 'unknown' | 'banned' | 'stopped' | 'disabled' | 'unhealthy' | 'inactive';

/** What GET /cluster/smb adds to the settings: CTDB as this appliance sees it. */
export interface ClusterSmbRuntime {
  /** ctdbd runs on this appliance; 'unknown' when this cairnd has no SMB driver to ask. */
  ctdb: 'running' | 'stopped' | 'unknown';
  error: string | null;
  /** PNN of CTDB's leader (recovery master), null while none or not running. */
  leader: number | null;
  nodes: { pnn: number; hostname: string | null; address: string; health: CtdbNodeHealth; thisNode: boolean }[];
  /** Every configured public address and who hosts it now (null: nobody, or CTDB not running here). */
  publicAddresses: { address: string; prefix: number; pnn: number | null; hostname: string | null; interface: string | null }[];
  /** The lock volume: the `cairn-state` Gluster volume mounted on every appliance; `file` is CTDB's cluster lock on it. */
  lock: { volume: string | null; mounted: boolean | null; file: string | null };
}

/** Pure: the runtime view from the settings, the SMB driver's CTDB view (smb/driver.ts CtdbRuntime) and the shared state's mount. */
export function clusterSmbRuntimeOf(
  smb: ClusterSmb,
  rt: { running: boolean; error: string | null; status: { nodes: CtdbStatusNode[]; leader: number | null } | null; ips: { address: string; pnn: number; activeInterface: string | null }[]; lockFile: string | null } | null,
  shared: { volume: string; mounted: boolean } | null | undefined,
): ClusterSmbRuntime {
  const host = (pnn: number) => smb.nodes[pnn] ?? null;
  const held = new Map((rt?.ips ?? []).map((i) => [i.address, i]));
  return {
    ctdb: rt === null ? 'unknown' : rt.running ? 'running' : 'stopped',
    error: rt?.error ?? null,
    leader: rt?.status?.leader ?? null,
    nodes: (rt?.status?.nodes ?? []).map((n) => ({ pnn: n.pnn, hostname: host(n.pnn), address: n.address, health: nodeHealth(n), thisNode: n.thisNode })),
    publicAddresses: smb.publicAddresses.map((a) => {
      const ip = held.get(a.address);
      const pnn = ip && ip.pnn >= 0 ? ip.pnn : null;
      return { address: a.address, prefix: a.prefix, pnn, hostname: pnn === null ? null : host(pnn), interface: pnn === null ? null : (ip?.activeInterface ?? null) };
    }),
    lock: { volume: shared?.volume ?? null, mounted: shared?.mounted ?? null, file: rt?.lockFile ?? null },
  };
}

interface CtdbStatusNode {
  pnn: number;
  address: string;
  thisNode: boolean;
  disconnected: boolean;
  unknown: boolean;
  banned: boolean;
  stopped: boolean;
  disabled: boolean;
  unhealthy: boolean;
  inactive: boolean;
}

function nodeHealth(n: CtdbStatusNode): CtdbNodeHealth {
  for (const k of ['disconnected', 'unknown', 'banned', 'stopped', 'disabled', 'unhealthy', 'inactive'] as const) if (n[k]) return k;
  return 'ok';
}

/**
 * Shapes of what the API returns, as the console reads them. They follow the
 * control plane's state schema (appliance/src/state/schema.ts); everything
 * the console only displays is optional, so a field the API does not send
 * (yet) shows as "—" instead of breaking a page.
 */

export type Role = 'admin' | 'read-only';

export interface Session {
  user: { name: string; role: Role };
  via?: 'session' | 'token';
  csrfToken?: string;
}

/** What the reconciler could not do for an object, and why. */
export interface Problem {
  driver?: string;
  objectKind?: string;
  objectId?: string;
  message: string;
}

export interface SetupStatus {
  required?: boolean;
  needed?: boolean;
  setupRequired?: boolean;
  complete?: boolean;
}

export interface Settings {
  applianceName: string;
  timezone: string;
  smb: { workgroup: string };
  nfs: { port: number };
}

export interface Brick {
  host: string;
  path: string;
  disk?: string;
  state?: string;
  status?: string;
  healPending?: number;
}

export interface Pool {
  id: string;
  kind: 'local' | 'gluster';
  label?: string;
  path?: string;
  replica?: number;
  arbiter?: number;
  bricks?: Brick[];
  status?: { state?: string; healPending?: number } & Record<string, unknown>;
  /** null while the pool is not available. */
  capacity?: { totalBytes: number; usedBytes: number; freeBytes: number } | null;
  problems?: Problem[];
  /** GET /pools/:id: heal progress of a gluster pool (absent or null: not known). Read it through lib/heal.ts healOf. */
  heal?: unknown;
}

export interface Disk {
  name?: string;
  path: string;
  sizeBytes?: number;
  type?: string;
  model?: string | null;
  serial?: string | null;
  fstype?: string | null;
  pttype?: string | null;
  mountpoint?: string | null;
  /** As GET /disks answers (lsblk MOUNTPOINTS). */
  mountpoints?: string[];
  readOnly?: boolean;
  children?: Disk[];
  /** Which pool uses it, when the API knows. */
  pool?: string;
  state?: string;
}

export { diskIsSpare, diskKind } from './lib/disks.js';

/** A pool's state as the console shows it: the API's own when it sends one, else derived. */
export function poolState(p: Pool): string {
  if (p.status?.state) return p.status.state;
  const down = (p.bricks ?? []).some((b) => /down|fail|offline|missing/i.test(b.state ?? b.status ?? ''));
  if (p.capacity === null) return 'unavailable';
  if (down) return 'degraded';
  if (p.problems?.length) return 'problems';
  return p.capacity ? 'online' : 'unknown';
}

/** GET /status: what the reconciler last did. */
export interface ReconcileStatus {
  revision: number;
  reconcile: {
    phase: string;
    appliedRevision: number | null;
    lastRunAt: string | null;
    nextRetryAt: string | null;
    attempt: number;
    drivers: Array<{ name: string; ok: boolean; summary?: string; error?: string; problems: Problem[] }>;
    problems: Problem[];
  };
}

export interface NfsClient {
  match: string;
  access: 'rw' | 'ro';
  squash: 'root_squash' | 'all_squash' | 'no_root_squash';
  anonUid: number;
  anonGid: number;
  secure: boolean;
}

export interface ShareSmb {
  enabled: boolean;
  readOnly: boolean;
  browseable: boolean;
  guestOk: boolean;
  validUsers: string[];
  validGroups: string[];
  hostsAllow: string[];
  recycleBin: boolean;
  macos: boolean;
  timeMachine: boolean;
  encryption: 'off' | 'if_required' | 'desired' | 'required';
}

export interface Share {
  name: string;
  pool: string;
  volume?: string;
  path: string;
  nfs: { enabled: boolean; clients: NfsClient[] };
  smb: ShareSmb;
  status?: { exportPath?: string } & Record<string, unknown>;
  problems?: Problem[];
}

export interface User {
  name: string;
  uid?: number;
  fullName?: string;
  role?: Role;
  enabled?: boolean;
  groups?: string[];
}

export interface Group {
  name: string;
  gid?: number;
  members: string[];
}

export interface ApiToken {
  id: string;
  name?: string;
  role?: Role;
  createdBy?: string;
  createdAt?: string;
  lastUsedAt?: string;
  expiresAt?: string;
}

/** POST /tokens answers the secret once, beside the token's record. */
export interface TokenCreated {
  token: string;
  info: ApiToken;
}

export interface Revision {
  revision?: number;
  rev?: number;
  id?: number;
  at?: string;
  time?: string;
  createdAt?: string;
  who?: string;
  by?: string;
  actor?: string;
  user?: string;
  reason?: string;
  summary?: string;
  message?: string;
  diff?: Array<{ op: string; path: string; value?: unknown; old?: unknown }>;
  /** The whole document at this revision (GET /state/history/:revision only). */
  state?: unknown;
}

export interface Task {
  id: string;
  kind?: string;
  type?: string;
  title?: string;
  description?: string;
  state?: 'queued' | 'running' | 'done' | 'succeeded' | 'failed' | 'cancelled' | string;
  status?: string;
  progress?: number;
  message?: string;
  error?: string | { message?: string };
  startedAt?: string;
  finishedAt?: string;
}

/** GET /cluster: this appliance and the others Gluster's trusted pool lists. */
export interface ClusterMember {
  hostname: string;
  uuid: string;
  self: boolean;
  connected: boolean;
  state: string;
  bricks: string[];
  health: 'ok' | 'unreachable' | 'joining' | string;
}

export interface ClusterView {
  hostname: string;
  clusterId: string | null;
  joinedAt: string | null;
  members: ClusterMember[];
  /** This appliance reaches a majority: changes to cluster-wide objects are accepted here. */
  quorum?: boolean;
  /** The shared desired state on the cluster's state volume; null when this cairnd syncs none. */
  sharedState?: SharedState | null;
}

export interface SharedState {
  volume: string;
  phase: 'standalone' | 'waiting' | 'synced' | 'error' | string;
  mounted: boolean;
  revision: number | null;
  origin: string | null;
  at: string | null;
  lastCheckAt: string | null;
  error: string | null;
  writable: boolean | null;
}

export interface JoinToken {
  token: string;
  expiresAt: string;
  /** The pin of this appliance's HTTPS certificate, which the token carries. */
  fingerprint?: string;
  /** The HTTPS port other cairnds call; absent or 8443 on the appliance. */
  clusterPort?: number;
}

export interface Health {
  status: 'ok' | 'degraded' | 'failed';
  version: string;
  uptimeSeconds: number;
  components: Record<string, { status: string; detail?: string }>;
}

/** Lists may come bare or wrapped ({items: [...]}, {shares: [...]}). */
export function listOf<T>(v: unknown, key?: string): T[] {
  if (Array.isArray(v)) return v as T[];
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const inner = (key && o[key]) ?? o.items ?? o.data ?? o.results;
    if (Array.isArray(inner)) return inner as T[];
  }
  return [];
}

export function revNumber(r: Revision): number | undefined {
  return r.revision ?? r.rev ?? r.id;
}

export function taskFinished(t: Task): boolean {
  const s = t.state ?? t.status ?? '';
  return ['done', 'succeeded', 'success', 'failed', 'error', 'cancelled', 'canceled'].includes(s);
}

export function taskFailed(t: Task): boolean {
  const s = t.state ?? t.status ?? '';
  return ['failed', 'error', 'cancelled', 'canceled'].includes(s);
}

/** GET/PUT /cluster/smb: clustered SMB (CTDB) settings; `runtime` (GET) as this appliance's CTDB sees it. */
export interface ClusterSmb {
  enabled: boolean;
  netbiosName: string;
  publicAddresses: Array<{ address: string; prefix: number; interfaces: string[] }>;
  /** Host names in PNN order; null: a removed member's slot. */
  nodes: Array<string | null>;
  runtime?: ClusterSmbRuntime;
}

export interface ClusterSmbRuntime {
  ctdb: 'running' | 'stopped' | 'unknown';
  error: string | null;
  leader: number | null;
  nodes: Array<{ pnn: number; hostname: string | null; address: string; health: string; thisNode: boolean }>;
  publicAddresses: Array<{ address: string; prefix: number; pnn: number | null; hostname: string | null; interface: string | null }>;
  lock: { volume: string | null; mounted: boolean | null; file: string | null };
}

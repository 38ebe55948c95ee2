/**
 * Shapes of what the API returns, as the console reads them. They follow the
 * control plane's state schema (appliance/src/state/schema.ts); everything
 * the console only displays is optional, so a field the API does not send
 * (yet) shows as "—" instead of breaking a page.
 */

export type Role = 'admin' | 'read-only';

export interface Session {
  user?: string;
  username?: string;
  role?: Role;
  csrfToken?: string;
  expiresAt?: string;
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
  status?: { state?: string; sizeBytes?: number; usedBytes?: number; freeBytes?: number; healPending?: number; problems?: string[] } & Record<string, unknown>;
  capacity?: { totalBytes?: number; usedBytes?: number; freeBytes?: number };
}

export interface Disk {
  name?: string;
  path: string;
  sizeBytes?: number;
  model?: string;
  serial?: string;
  inUse?: boolean;
  pool?: string;
  state?: string;
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
  status?: { problems?: string[]; state?: string; exportPath?: string } & Record<string, unknown>;
}

export interface User {
  name: string;
  uid?: number;
  fullName?: string;
  role?: Role;
  enabled?: boolean;
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
  createdAt?: string;
  lastUsedAt?: string;
  expiresAt?: string;
  /** Only in the create response, once. */
  token?: string;
  secret?: string;
}

export interface Revision {
  revision?: number;
  rev?: number;
  id?: number;
  at?: string;
  time?: string;
  createdAt?: string;
  by?: string;
  actor?: string;
  user?: string;
  reason?: string;
  summary?: string;
  message?: string;
  diff?: Array<{ op: string; path: string; value?: unknown; old?: unknown }>;
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

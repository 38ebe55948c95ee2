/**
 * What the routes need, handed in by whoever builds the app (cairnd, or a
 * test with temp dirs): the state store, auth stores, reconciler status,
 * tasks, metrics, audit. Routes never reach for globals.
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import type { Logger } from '../log.js';
import type { SessionStore } from '../auth/sessions.js';
import type { SetupToken } from '../auth/setup.js';
import type { TokenStore } from '../auth/tokens.js';
import type { FailureLimiter } from '../auth/rate-limit.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { SharedStateStatus } from '../cluster/state-sync.js';
import type { Mutator, Revision, StateStore } from '../state/store.js';
import type { Role } from '../state/schema.js';
import type { Audit } from '../system/audit.js';
import type { BlockDevice } from '../pool/gluster/disks.js';
import type { BrickOps } from '../pool/gluster/brick-ops.js';
import type { HealProgress } from '../pool/gluster/heal.js';
import type { Health } from '../system/health.js';
import type { Metrics } from '../system/metrics.js';
import type { Tasks } from '../system/tasks.js';
import type { ClusterService } from '../cluster/cluster.js';
import type { GeoRepReplication } from '../pool/gluster/georep.js';
import type { RootSshKeys } from '../replication/ssh-keys.js';
import type { CtdbRuntime } from '../smb/driver.js';

/** What the cluster routes use of cluster/ClusterService (tests hand in fakes). */
export type ClusterApi = Pick<ClusterService, 'record' | 'members' | 'issueJoinToken' | 'acceptJoin' | 'addAppliance' | 'removeAppliance'> & {
  /** This appliance's host name, as the other members reach it. */
  readonly hostname: string;
  /** The shared desired state's sync status (cluster/state-sync.ts), when this cairnd runs one. */
  sharedState?(): SharedStateStatus | undefined;
  /** Removal with brick moves (cluster/evacuate.ts); without them DELETE only detaches appliances that hold no bricks. */
  planRemoval?: ClusterService['planRemoval'];
  evacuate?: ClusterService['evacuate'];
};

/** What the replication routes use of pool/gluster/georep.ts (tests hand in fakes). */
export type ReplicationApi = Pick<GeoRepReplication, 'list' | 'get' | 'setUp' | 'pause' | 'resume' | 'checkpoint' | 'restart' | 'remove'>;

export interface PoolCapacity {
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
}

export interface ApiContext {
  log: Logger;
  health: Health;
  store: StateStore;
  tokens: TokenStore;
  sessions: SessionStore;
  setup: SetupToken;
  loginLimiter: FailureLimiter;
  reconciler?: Reconciler;
  tasks: Tasks;
  metrics: Metrics;
  audit: Audit;
  /** Capacity of a pool when its driver can tell. */
  poolCapacity?: (poolId: string) => Promise<PoolCapacity | undefined>;
  /** Heal progress of a gluster pool (null: nothing pending, or not a gluster pool). */
  poolHeal?: (poolId: string) => HealProgress | null;
  /** Block devices (pool/gluster/disks.ts is the one place that runs lsblk). */
  listDisks: () => Promise<BlockDevice[]>;
  /** Disks and Gluster for the brick tasks (add disks, replace brick); absent: those routes answer 503. */
  bricks?: BrickOps;
  /** Several appliances (cluster/): absent when cairnd runs without it; the routes then answer 503. */
  cluster?: ClusterApi;
  /** CTDB as this appliance's SMB driver sees it (GET /cluster/smb); absent: the runtime says 'unknown'. */
  clusterSmbRuntime?: () => Promise<CtdbRuntime>;
  /** Geo-replication to remote appliances: absent when cairnd runs without Gluster; the routes then answer 503. */
  replication?: ReplicationApi;
  /** Root's ssh keys for setting up geo-replication (absent: those routes answer 503). */
  sshKeys?: Pick<RootSshKeys, 'publicKey' | 'authorize'>;
  /** Password hashing cost (tests lower it). */
  scrypt?: { N: number; r: number; p: number };
}

export interface Principal {
  kind: 'session' | 'token' | 'anonymous';
  /** User name (session) or token name; '' when anonymous. */
  name: string;
  role?: Role;
  sessionId?: string;
  tokenId?: string;
}

/** Who made a change, as the history and the audit log show it. */
export function whoOf(req: FastifyRequest): string {
  const p = req.principal;
  if (p.kind === 'session') return p.name;
  if (p.kind === 'token') return `token:${p.name}`;
  return 'anonymous';
}

/**
 * The revision a client based its change on, from `If-Match: "42"` (or 42):
 * when the state moved on meanwhile, the change is refused with 409
 * `conflict` instead of silently overwriting someone else's edit.
 */
export function expectedRevision(req: FastifyRequest): number | undefined {
  const h = req.headers['if-match'];
  if (h === undefined || h === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(String(h));
  if (!m) throw new ApiError('bad_request', 'If-Match must be a state revision number, e.g. If-Match: "42"');
  return Number(m[1]);
}

/** A change through the store, recorded in the audit log; returns the new revision. */
export async function change(ctx: ApiContext, req: FastifyRequest, action: string, target: string, mutate: Mutator): Promise<Revision> {
  const who = whoOf(req);
  const expect = expectedRevision(req);
  const rev = await ctx.store.update(who, `${action} ${target}`.trim(), mutate, expect === undefined ? {} : { expectRevision: expect });
  ctx.audit.record({ who, action, target, revision: rev.revision, ip: req.ip });
  return rev;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Who may call the route: 'public', 'read' (any logged-in role) or 'admin'. */
    access?: 'public' | 'read' | 'admin';
  }
}

/**
 * Builds the real API over a temporary data directory for `app.inject`
 * tests (like fastify/demo's test/helper.ts): a state store, token store,
 * sessions, an admin and a read-only user with tokens, cheap scrypt.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import type { ApiContext, ClusterApi, ReplicationApi } from '../../src/api/context.js';
import { hashPassword, ntHash } from '../../src/auth/password.js';
import { FailureLimiter } from '../../src/auth/rate-limit.js';
import { SessionStore } from '../../src/auth/sessions.js';
import { SetupToken } from '../../src/auth/setup.js';
import { TokenStore } from '../../src/auth/tokens.js';
import { createLogger } from '../../src/log.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import type { Driver } from '../../src/reconcile/driver.js';
import type { BrickOps } from '../../src/pool/gluster/brick-ops.js';
import { initialState } from '../../src/state/schema.js';
import { StateStore } from '../../src/state/store.js';
import { Audit } from '../../src/system/audit.js';
import { Health } from '../../src/system/health.js';
import { Metrics } from '../../src/system/metrics.js';
import { Tasks } from '../../src/system/tasks.js';

export const CHEAP_SCRYPT = { N: 1024, r: 8, p: 1 };
export const ADMIN_PASSWORD = 'admin-password-1';
export const VIEWER_PASSWORD = 'viewer-password-1';

type T = { after: (fn: () => unknown) => void };

export interface TestApi {
  app: FastifyInstance;
  ctx: ApiContext;
  dir: string;
  adminToken: string;
  readToken: string;
  /** inject with an admin token (default) or the given token. */
  as(token: string | undefined, opts: InjectOptions): Promise<LightMyRequestResponse>;
  admin(opts: InjectOptions): Promise<LightMyRequestResponse>;
  reader(opts: InjectOptions): Promise<LightMyRequestResponse>;
}

export interface TestApiOptions {
  /** Leave the appliance un-set-up (no admin; setup token pending). */
  fresh?: boolean;
  drivers?: Driver[];
  consoleDir?: string;
  /** The cluster service the cluster routes use (absent: they answer 503). */
  cluster?: ClusterApi;
  /** Geo-replication (absent: the replication routes answer 503). */
  replication?: ReplicationApi;
  /** Root's ssh keys for geo-replication set-up (absent: 503). */
  sshKeys?: ApiContext['sshKeys'];
  /** Disk and Gluster operations of the brick tasks (fakes; absent: those routes answer 503). */
  bricks?: BrickOps;
  /** The block devices GET /disks and the brick tasks see (default: vdb and a CD-ROM). */
  listDisks?: ApiContext['listDisks'];
  /** CTDB as the SMB driver sees it (GET /cluster/smb's runtime). */
  clusterSmbRuntime?: ApiContext['clusterSmbRuntime'];
  /** The data directory to use (the caller's to remove); default: a fresh one, removed after the test. */
  dir?: string;
}

export async function buildTestApi(t: T, opts: TestApiOptions = {}): Promise<TestApi> {
  // tmpfs when there is one: these tests are about the API, not fsync, and
  // the machine's disk is shared with everyone's tests.
  const dir = opts.dir ?? (await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cairn-api-')));
  const log = createLogger('silent');
  const store = await StateStore.open(join(dir, 'state'), { initial: () => initialState(dir) });
  const tokens = await TokenStore.open(join(dir, 'auth'));
  let adminToken = '';
  let readToken = '';
  if (!opts.fresh) {
    const adminHash = await hashPassword(ADMIN_PASSWORD, CHEAP_SCRYPT);
    const viewerHash = await hashPassword(VIEWER_PASSWORD, CHEAP_SCRYPT);
    await store.update('test', 'users', (s) => {
      s.users.push({ name: 'admin', uid: 1000, fullName: 'Administrator', role: 'admin', passwordHash: adminHash, ntHash: ntHash(ADMIN_PASSWORD), enabled: true });
      s.users.push({ name: 'viewer', uid: 1001, fullName: 'Viewer', role: 'read-only', passwordHash: viewerHash, ntHash: ntHash(VIEWER_PASSWORD), enabled: true });
    });
    adminToken = (await tokens.create({ name: 'test-admin', role: 'admin', createdBy: 'admin' })).token;
    readToken = (await tokens.create({ name: 'test-reader', role: 'read-only', createdBy: 'viewer' })).token;
  }
  const setup = await SetupToken.init(dir, !!opts.fresh);
  const health = new Health('9.9.9');
  health.register('api', () => ({ status: 'ok' }));
  const reconciler = opts.drivers
    ? new Reconciler({ drivers: opts.drivers, current: () => ({ state: store.state, revision: store.revision }), log, backoff: { initialMs: 20, maxMs: 200 } })
    : undefined;
  if (reconciler) store.on('commit', () => void reconciler.trigger());
  const tasks = new Tasks();
  const ctx: ApiContext = {
    log,
    health,
    store,
    tokens,
    sessions: new SessionStore(),
    setup,
    loginLimiter: new FailureLimiter(5, 60_000),
    ...(reconciler ? { reconciler } : {}),
    tasks,
    metrics: new Metrics(),
    audit: new Audit(log),
    poolCapacity: async () => ({ totalBytes: 1000, usedBytes: 400, freeBytes: 600 }),
    listDisks:
      opts.listDisks ??
      (async () => [
      { name: 'vdb', path: '/dev/vdb', sizeBytes: 1 << 30, type: 'disk', model: 'QEMU', serial: null, fstype: null, pttype: null, mountpoints: [], rotational: false, readOnly: false, children: [] },
      { name: 'sr0', path: '/dev/sr0', sizeBytes: 1 << 20, type: 'rom', model: null, serial: null, fstype: null, pttype: null, mountpoints: [], rotational: false, readOnly: true, children: [] },
      ]),
    scrypt: CHEAP_SCRYPT,
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
    ...(opts.replication ? { replication: opts.replication } : {}),
    ...(opts.sshKeys ? { sshKeys: opts.sshKeys } : {}),
    ...(opts.bricks ? { bricks: opts.bricks } : {}),
    ...(opts.clusterSmbRuntime ? { clusterSmbRuntime: opts.clusterSmbRuntime } : {}),
  };
  const app = await buildApp({ ...ctx, consoleDir: opts.consoleDir ?? join(dir, 'no-console') });
  // One hook, in this order: a reconciler retry still running would create
  // directories under `dir` while rm walks it (ENOTEMPTY).
  t.after(async () => {
    await app.close();
    await reconciler?.stop();
    await tasks.close();
    if (!opts.dir) await rm(dir, { recursive: true, force: true });
  });
  const as = (token: string | undefined, o: InjectOptions) =>
    app.inject({ ...o, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(o.headers ?? {}) } });
  return {
    app,
    ctx,
    dir,
    adminToken,
    readToken,
    as,
    admin: (o) => as(adminToken, o),
    reader: (o) => as(readToken, o),
  };
}

/** Cookies from a response, as a Cookie header value and a map. */
export function cookiesOf(res: LightMyRequestResponse): { header: string; map: Record<string, string> } {
  const map: Record<string, string> = {};
  for (const c of res.cookies as Array<{ name: string; value: string }>) map[c.name] = c.value;
  return { header: Object.entries(map).map(([k, v]) => `${k}=${v}`).join('; '), map };
}

/**
 * cairnd's life cycle: check the data directory, open the desired state,
 * build the API, listen, reconcile once, tell systemd READY (with a STATUS
 * summary), keep the watchdog fed, and shut down cleanly on SIGTERM/SIGINT
 * (stop accepting, finish in-flight requests, stop the reconciler, exit 0).
 *
 * First boot (no admin yet): a one-time setup token is logged once per
 * start and kept in DATA_DIR/setup-token until POST /api/v1/setup uses it.
 */
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './api/app.js';
import type { ApiContext } from './api/context.js';
import { enabledAdmins } from './api/routes/users.js';
import { FailureLimiter } from './auth/rate-limit.js';
import { SessionStore } from './auth/sessions.js';
import { SetupToken } from './auth/setup.js';
import { TokenStore } from './auth/tokens.js';
import { UsageError, EXIT } from './cli/errors.js';
import type { DaemonOptions } from './cli/args.js';
import { checkDataDir } from './data-dir.js';
import { createLogger, type Logger } from './log.js';
import { LocalPoolDriver } from './pool/local/driver.js';
import type { Driver } from './reconcile/driver.js';
import { Reconciler } from './reconcile/reconciler.js';
import { MigrationError } from './state/migrations.js';
import { initialState } from './state/schema.js';
import { StateStore, StoreError } from './state/store.js';
import { StateValidationError } from './state/validate.js';
import { Audit } from './system/audit.js';
import { listBlockDevices as listDisks } from './pool/gluster/disks.js';
import { glusterBrickOps } from './pool/gluster/brick-ops.js';
import type { HealProgress } from './pool/gluster/heal.js';
import { ClusterService } from './cluster/cluster.js';
import { HttpJoinTransport } from './cluster/http-transport.js';
import { ClusterStateSync } from './cluster/state-sync.js';
import { ensureTlsIdentity } from './cluster/tls.js';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { glusterStateVolumeAccess } from './cluster/state-volume.js';
import { GlusterCli } from './pool/gluster/cli.js';
import { GeoRepReplication, GeoRepWatchdog, GlusterGeoRep } from './pool/gluster/georep.js';
import { RootSshKeys } from './replication/ssh-keys.js';
import { GlusterPeers } from './pool/gluster/peers.js';
import { GlusterVolumes } from './pool/gluster/volumes.js';
import { SystemDriver } from './system/driver.js';
import { Health } from './system/health.js';
import { metrics as sharedMetrics, type Metrics } from './system/metrics.js';
import { Systemd } from './system/sd-notify.js';
import { Tasks } from './system/tasks.js';
import { VERSION } from './version.js';
import type { CtdbRuntime } from './smb/driver.js';

export interface Daemon {
  app: FastifyInstance;
  log: Logger;
  dataDir: string;
  store: StateStore;
  reconciler: Reconciler;
  /** The API's bound address, e.g. http://127.0.0.1:8080 */
  url: string;
  close(reason?: string): Promise<void>;
}

/** What drivers get to build themselves (NFS, SMB and Gluster are wired here by the lead). */
export interface DriverDeps {
  dataDir: string;
  store: StateStore;
  log: Logger;
  metrics: Metrics;
  tasks: Tasks;
  /** This appliance's cluster (membership; the SMB driver derives clustered SMB from it). */
  cluster: ClusterService;
}

const FIRST_RECONCILE_WAIT_MS = 60_000;

export interface DaemonHooks {
  /** How long READY waits for the first reconcile (default 60 s). */
  firstReconcileWaitMs?: number;
  /** Extra drivers, run after pool/local and before system, in this order. */
  drivers?: (deps: DriverDeps) => Driver[];
  metrics?: Metrics;
  /** How long start-up waits for the first read of the cluster's shared state (default 15 s). */
  firstClusterSyncWaitMs?: number;
}

/** The NFS handle secret: the NFS driver's file, which the cluster module overwrites with the cluster's secret on join. */
export const handleSecretFileOf = (dataDir: string) => join(dataDir, 'nfs', 'fh-secret');

/**
 * The cluster service over this machine's glusterd. The CLI fails at once
 * when glusterd is not running (the routes answer glusterd_unavailable);
 * the short deadline bounds a glusterd that is alive but stuck.
 */
function clusterService(dataDir: string, store: StateStore, log: Logger, tls: () => { pin: string; port: number } | undefined): { cluster: ClusterService; sync: ClusterStateSync } {
  const cli = new GlusterCli({ timeoutMs: 20_000 });
  const hostname = process.env.CAIRN_CLUSTER_HOSTNAME || osHostname();
  const volumes = new GlusterVolumes(cli);
  const peers = new GlusterPeers(cli);
  const clog = log.child({ component: 'cluster' });
  const cluster = new ClusterService({
    hostname,
    peers,
    volumes,
    transport: new HttpJoinTransport(),
    stateDir: join(dataDir, 'cluster'),
    handleSecretFile: handleSecretFileOf(dataDir),
    stateBrick: join(dataDir, 'cluster', 'state-brick'),
    log: clog,
    tls,
  });
  // The shared desired state (cluster/state-sync.ts): idle until this appliance is in a cluster.
  const sync = new ClusterStateSync({
    store,
    hostname,
    mountDir: join(dataDir, 'cluster', 'state'),
    access: glusterStateVolumeAccess(volumes, hostname),
    clustered: async () => (await cluster.record()) !== undefined && (await peers.status()).length > 0,
    founder: () => cluster.founded(),
    log: clog,
    record: { stateBrick: join(dataDir, 'cluster', 'state-brick'), brickDir: process.env.CAIRN_BRICK_DIR || join(dataDir, 'bricks') },
  });
  cluster.attachStateSync(sync);
  return { cluster, sync };
}

/**
 * The API again over HTTPS, with the appliance's self-signed certificate
 * (cluster/tls.ts), for cairnd-to-cairnd calls: the join token carries
 * the certificate's pin. Port: $CAIRN_CLUSTER_PORT, else 8443 beside the
 * default API port 8080, else any free port (tests run many cairnds side
 * by side); `off` disables it. A failure is logged, never fatal: joining
 * then falls back to tokens without a pin (plain HTTP).
 */
async function listenClusterTls(app: FastifyInstance, dataDir: string, opts: DaemonOptions, log: Logger): Promise<{ server: HttpsServer; port: number; pin: string } | undefined> {
  const env = process.env.CAIRN_CLUSTER_PORT;
  if (env === 'off') return undefined;
  const wanted = env !== undefined && /^\d+$/.test(env) ? Number(env) : opts.port === 8080 ? 8443 : 0;
  try {
    const id = await ensureTlsIdentity(join(dataDir, 'tls'), process.env.CAIRN_CLUSTER_HOSTNAME || osHostname());
    const server = createHttpsServer({ key: id.key, cert: id.cert }, (req, res) => app.routing(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(wanted, opts.host, () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : wanted;
    log.info({ port, fingerprint: id.pin, sha256: id.sha256 }, 'cluster https listening');
    return { server, port, pin: id.pin };
  } catch (err) {
    log.warn({ err }, 'cluster https not available: join tokens carry no certificate pin');
    return undefined;
  }
}

/**
 * Drivers of other pool kinds (pool/gluster) may offer `poolCapacity(id)`:
 * the capacity they measured on their last pass, undefined when unknown.
 */
function capacityFromDrivers(drivers: Driver[], poolId: string): { totalBytes: number; usedBytes: number; freeBytes: number } | undefined {
  for (const d of drivers) {
    const f = (d as { poolCapacity?: unknown }).poolCapacity;
    if (typeof f !== 'function') continue;
    const c = f.call(d, poolId) as ReturnType<typeof capacityFromDrivers>;
    if (c) return c;
  }
  return undefined;
}

/** Drivers that heal pools (pool/gluster) offer `poolHeal(id)`: progress, or null when nothing is pending. */
function healFromDrivers(drivers: Driver[], poolId: string): HealProgress | null {
  for (const d of drivers) {
    const f = (d as { poolHeal?: unknown }).poolHeal;
    if (typeof f !== 'function') continue;
    const h = f.call(d, poolId) as HealProgress | null;
    if (h) return h;
  }
  return null;
}

/** The SMB driver (smb/driver.ts) offers `ctdbRuntime()`: CTDB as this appliance sees it. */
function ctdbRuntimeFromDrivers(drivers: Driver[]): ApiContext['clusterSmbRuntime'] {
  const d = drivers.find((x) => typeof (x as { ctdbRuntime?: unknown }).ctdbRuntime === 'function') as { ctdbRuntime(): Promise<CtdbRuntime> } | undefined;
  return d ? () => d.ctdbRuntime() : undefined;
}

/** Opens the state, turning a broken document into one clear line (exit 78). */
async function openStore(dataDir: string, log: Logger): Promise<StateStore> {
  try {
    return await StateStore.open(join(dataDir, 'state'), { initial: () => initialState(dataDir), log: log.child({ component: 'state' }) });
  } catch (e) {
    if (e instanceof StoreError || e instanceof MigrationError || e instanceof StateValidationError) {
      throw new UsageError(`the state in ${join(dataDir, 'state')} cannot be used: ${e.message}`, EXIT.config);
    }
    throw e;
  }
}

export async function startDaemon(opts: DaemonOptions, log: Logger = createLogger(opts.logLevel), hooks: DaemonHooks = {}): Promise<Daemon> {
  const dataDir = await checkDataDir(opts.dataDir);
  const metrics = hooks.metrics ?? sharedMetrics;
  const systemd = new Systemd(log);
  const health = new Health(VERSION);
  const store = await openStore(dataDir, log);
  const tokens = await TokenStore.open(join(dataDir, 'auth'));
  const setup = await SetupToken.init(dataDir, enabledAdmins(store.state) === 0);
  const audit = new Audit(log.child({ component: 'audit' }), join(dataDir, 'audit.log'));
  const tasks = new Tasks();
  store.on('commit', (rev) => metrics.stateRevision.set(rev.revision));
  metrics.stateRevision.set(store.revision);

  let port = opts.port;
  const local = new LocalPoolDriver(metrics);
  // eslint-disable-next-line prefer-const
  let reconciler: Reconciler;
  const system = new SystemDriver(systemd, () => reconciler?.status(), () => `serving API on :${port}; `, metrics);
  let clusterTls: { pin: string; port: number } | undefined;
  const { cluster, sync } = clusterService(dataDir, store, log, () => clusterTls);
  const extra = hooks.drivers?.({ dataDir, store, log, metrics, tasks, cluster }) ?? [];
  reconciler = new Reconciler({
    drivers: [local, ...extra, system],
    current: () => ({ state: store.state, revision: store.revision }),
    log: log.child({ component: 'reconcile' }),
    onPass: (st) => metrics.reconcileRuns.inc({ outcome: st.drivers.some((d) => !d.ok) ? 'failed' : st.problems.length ? 'problems' : 'ok' }),
  });
  store.on('commit', () => void reconciler.trigger());

  health.register('api', () => ({ status: 'ok' }));
  health.register('reconcile', () => {
    const st = reconciler.status();
    // Starting is not degraded: the first pass is still bringing components up.
    if (st.appliedRevision === null) return { status: 'ok', detail: 'first reconcile running' };
    const failed = st.drivers.filter((d) => !d.ok);
    if (failed.length) return { status: 'degraded', detail: `driver ${failed.map((d) => d.name).join(', ')} failing: ${failed[0]!.error}` };
    if (st.problems.length) return { status: 'degraded', detail: `${st.problems.length} problem(s): ${st.problems[0]!.objectKind} ${st.problems[0]!.objectId}: ${st.problems[0]!.message}` };
    return { status: 'ok' };
  });

  // Before the API answers: a restarted member must not take changes before it has read the cluster's document.
  await sync.start(hooks.firstClusterSyncWaitMs ?? 15_000);

  // `create push-pem` verifies both volumes by mounting them: give it time.
  const geo = new GlusterGeoRep(new GlusterCli({ timeoutMs: 120_000 }));
  // Restarts a geo-replication session whose worker on this appliance is stuck (pool/gluster/georep.ts).
  const localHost = process.env.CAIRN_CLUSTER_HOSTNAME || osHostname();
  const georepWatchdog = new GeoRepWatchdog(geo, {
    isLocal: (n) => n === localHost || n === 'localhost',
    log: log.child({ component: 'georep' }),
    // Sessions run from Gluster pools: without one there is nothing to ask glusterd about.
    active: () => store.state.pools.some((p) => p.kind === 'gluster'),
  });
  georepWatchdog.start(30_000);
  const ctx: ApiContext = {
    log,
    health,
    store,
    tokens,
    sessions: await SessionStore.open(join(dataDir, 'auth'), { onError: (e) => log.warn(e.message) }),
    setup,
    loginLimiter: new FailureLimiter(10, 5 * 60_000),
    reconciler,
    tasks,
    metrics,
    audit,
    poolCapacity: async (id) => (await local.capacity(store.state, id)) ?? capacityFromDrivers(extra, id),
    poolHeal: (id) => healFromDrivers(extra, id),
    listDisks,
    bricks: glusterBrickOps({ host: process.env.CAIRN_CLUSTER_HOSTNAME || osHostname(), dataDir }),
    cluster,
    clusterSmbRuntime: ctdbRuntimeFromDrivers(extra),
    replication: new GeoRepReplication(geo),
    sshKeys: new RootSshKeys(),
  };
  const app = await buildApp(ctx);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (e) {
    await app.close().catch(() => {});
    await georepWatchdog.stop();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new UsageError(
        `port ${opts.port} on ${opts.host} is already in use (another cairnd?): stop that process or pass --port`,
        EXIT.unavailable,
      );
    }
    if (code === 'EACCES') {
      throw new UsageError(`port ${opts.port} needs privileges: run as root or pass --port above 1023`, EXIT.unavailable);
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new UsageError(`address ${opts.host} is not on this machine: pass --host with a local address`, EXIT.unavailable);
    }
    throw e;
  }
  const addr = app.server.address();
  port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  const https = await listenClusterTls(app, dataDir, opts, log);
  if (https) clusterTls = { pin: https.pin, port: https.port };

  log.info({ dataDir, url, version: VERSION, revision: store.revision }, 'cairnd listening');
  if (setup.pending) {
    log.info(
      { setupUrl: `${url}/`, setupTokenFile: setup.file },
      `first boot: no admin yet. Open ${url}/ and set the admin password with the setup token ${setup.value} (also in ${setup.file})`,
    );
    // A person at a terminal (npm start) gets it in plain words too.
    if (process.stderr.isTTY) {
      process.stderr.write(`\n  Cairn first boot: open ${url}/\n  setup token: ${setup.value}\n  (also in ${setup.file})\n\n`);
    }
  }
  // READY after the first reconcile: the API answers meanwhile, systemd
  // waits. Bounded, so a hung component cannot keep the daemon from ever
  // being READY (systemd's start timeout would kill it): after
  // FIRST_RECONCILE_WAIT_MS it goes READY and the pass finishes later.
  systemd.status(`serving API on :${port}; first reconcile running`);
  let waitTimer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    reconciler.trigger().then(() => true),
    new Promise<false>((r) => (waitTimer = setTimeout(() => r(false), hooks.firstReconcileWaitMs ?? FIRST_RECONCILE_WAIT_MS))),
  ]);
  clearTimeout(waitTimer);
  const st = reconciler.status();
  if (finished) log.info({ revision: st.appliedRevision, problems: st.problems.length }, 'first reconcile done');
  else log.warn({ waitedMs: hooks.firstReconcileWaitMs ?? FIRST_RECONCILE_WAIT_MS }, 'first reconcile still running: READY anyway');
  systemd.ready(finished ? (st.drivers.find((d) => d.name === 'system')?.summary ?? `serving API on :${port}`) : `serving API on :${port}; first reconcile still running`);
  const watchdogMs = systemd.startWatchdog();
  if (watchdogMs) log.info({ everyMs: watchdogMs }, 'systemd watchdog on');

  let closing: Promise<void> | undefined;
  const close = (reason = 'shutdown'): Promise<void> => {
    closing ??= (async () => {
      log.info({ reason }, 'cairnd stopping');
      systemd.stopping(`stopping: ${reason}`);
      systemd.stopWatchdog();
      if (https) {
        const closed = new Promise<void>((r) => https.server.close(() => r()));
        https.server.closeAllConnections();
        await closed;
      }
      await app.close();
      await georepWatchdog.stop();
      await sync.stop({ unmount: true });
      await reconciler.stop();
      for (const d of extra.reverse()) {
        await d.close?.().catch((err: unknown) => log.error({ err, driver: d.name }, 'driver did not stop cleanly'));
      }
      await tasks.close();
      await audit.flush();
      await ctx.sessions.flush();
      log.info('cairnd stopped');
    })();
    return closing;
  };
  return { app, log, dataDir, store, reconciler, url, close };
}

/**
 * The OpenAPI document, without a running daemon (`cairnd openapi`): the app
 * is built over a throw-away data directory and asked for its spec.
 */
export async function openApiDocument(): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'cairnd-openapi-'));
  const log = createLogger('silent');
  try {
    const store = await StateStore.open(join(dir, 'state'), { initial: () => initialState(dir) });
    const app = await buildApp({
      log,
      health: new Health(VERSION),
      store,
      tokens: await TokenStore.open(join(dir, 'auth')),
      sessions: new SessionStore(),
      setup: await SetupToken.init(dir, false),
      loginLimiter: new FailureLimiter(10, 60_000),
      tasks: new Tasks(),
      metrics: sharedMetrics,
      audit: new Audit(log),
      listDisks,
      consoleDir: join(dir, 'none'),
    });
    await app.ready();
    const doc = app.swagger();
    await app.close();
    return doc;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

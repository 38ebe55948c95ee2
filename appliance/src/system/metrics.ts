/**
 * Prometheus metrics (prom-client), served at /metrics. One registry per
 * Metrics instance (tests make their own); cairnd uses the shared `metrics`.
 * Drivers feed them through these named fields, e.g.
 *   metrics.nfsOps.inc({ proc: 'READ', export: 'vmstore' });
 *   metrics.nfsBytes.inc({ proc: 'READ', export: 'vmstore', direction: 'read' }, n);
 *   metrics.smbSessions.set(7);
 *   metrics.poolCapacityBytes.set({ pool: 'local' }, total);
 *   metrics.brickHealthy.set({ pool, brick: 'host:/path' }, 1);
 *   metrics.healPending.set({ pool, brick }, entries);
 *   metrics.healPendingTotal.set({ pool }, entries);
 *   metrics.healEtaSeconds.set({ pool }, seconds);
 * Label values are bounded sets (procedures, exports, pools, bricks), never
 * client addresses or file names.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly apiLatency = new Histogram({
    name: 'cairn_api_request_duration_seconds',
    help: 'REST API request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly nfsOps = new Counter({
    name: 'cairn_nfs_ops_total',
    help: 'NFS operations by procedure and export',
    labelNames: ['proc', 'export'] as const,
    registers: [this.registry],
  });

  readonly nfsBytes = new Counter({
    name: 'cairn_nfs_bytes_total',
    help: 'NFS payload bytes by procedure, export and direction (read|write)',
    labelNames: ['proc', 'export', 'direction'] as const,
    registers: [this.registry],
  });

  readonly nfsOpSeconds = new Histogram({
    name: 'cairn_nfs_op_duration_seconds',
    help: 'NFS operation latency by procedure',
    labelNames: ['proc'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });

  readonly smbSessions = new Gauge({
    name: 'cairn_smb_sessions',
    help: 'open SMB sessions',
    registers: [this.registry],
  });

  readonly poolCapacityBytes = new Gauge({
    name: 'cairn_pool_capacity_bytes',
    help: 'pool size in bytes',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly poolUsedBytes = new Gauge({
    name: 'cairn_pool_used_bytes',
    help: 'bytes used in the pool',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly brickHealthy = new Gauge({
    name: 'cairn_brick_healthy',
    help: '1 when the brick is online, 0 when not',
    labelNames: ['pool', 'brick'] as const,
    registers: [this.registry],
  });

  readonly healPending = new Gauge({
    name: 'cairn_heal_pending_entries',
    help: 'entries waiting for self-heal, per brick (gluster heal info)',
    labelNames: ['pool', 'brick'] as const,
    registers: [this.registry],
  });

  readonly healPendingTotal = new Gauge({
    name: 'cairn_heal_pending_total_entries',
    help: 'entries waiting for self-heal in the pool (per replica set the largest brick count, summed)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly healEtaSeconds = new Gauge({
    name: 'cairn_heal_eta_seconds',
    help: 'estimated seconds until self-heal is done at the current rate (absent when unknown)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly brickRestarts = new Counter({
    name: 'cairn_brick_restarts_total',
    help: 'volume start force runs by the gluster driver to bring dead brick processes or a dead self-heal daemon back',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly stateRevision = new Gauge({
    name: 'cairn_state_revision',
    help: 'revision of the desired-state document',
    registers: [this.registry],
  });

  readonly reconcileProblems = new Gauge({
    name: 'cairn_reconcile_problems',
    help: 'objects the last reconcile could not bring to the desired state, per driver',
    labelNames: ['driver'] as const,
    registers: [this.registry],
  });

  readonly reconcileRuns = new Counter({
    name: 'cairn_reconcile_runs_total',
    help: 'reconcile passes by outcome (ok|problems|failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'cairn_process_' });
  }
}

/** cairnd's metrics; drivers import this one. */
export const metrics = new Metrics({ defaultMetrics: true });

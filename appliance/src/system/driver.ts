/**
 * The `system` driver: runs last in each reconcile pass and tells systemd a
 * one-line summary (STATUS=) of the appliance — shares, exports, and what
 * the other drivers could not do — and updates the problem gauges.
 */
import type { Driver, DriverResult } from '../reconcile/driver.js';
import type { ReconcileStatus } from '../reconcile/reconciler.js';
import type { State } from '../state/schema.js';
import type { Metrics } from './metrics.js';
import type { Systemd } from './sd-notify.js';

export function summaryLine(state: State, status: ReconcileStatus | undefined, prefix = ''): string {
  const nfs = state.shares.filter((s) => s.nfs.enabled).length;
  const smb = state.shares.filter((s) => s.smb.enabled).length;
  const others = (status?.problems ?? []).filter((p) => p.driver !== 'system');
  const trouble = others.length ? `${others.length} problem(s): ${others[0]!.objectKind} ${others[0]!.objectId}: ${others[0]!.message}` : 'all reconciled';
  return `${prefix}${state.pools.length} pool(s), ${state.shares.length} share(s) (${nfs} NFS, ${smb} SMB); ${trouble}`;
}

export class SystemDriver implements Driver {
  readonly name = 'system';

  constructor(
    private readonly systemd: Systemd,
    /** Status of the pass so far (drivers before this one), from the reconciler. */
    private readonly status: () => ReconcileStatus | undefined,
    private readonly prefix: () => string = () => '',
    private readonly metrics?: Metrics,
  ) {}

  async apply(state: State): Promise<DriverResult> {
    const st = this.status();
    const line = summaryLine(state, st, this.prefix());
    this.systemd.status(line);
    if (this.metrics && st) {
      this.metrics.reconcileProblems.reset();
      for (const d of st.drivers) this.metrics.reconcileProblems.set({ driver: d.name }, d.problems.length);
    }
    return { problems: [], summary: line };
  }
}

/**
 * Health of the appliance at a glance: one status per component, and an
 * overall status that is the worst of them. Components register a probe;
 * `/api/v1/health` and systemd's STATUS line read the same report.
 */
export type HealthStatus = 'ok' | 'degraded' | 'failed';

export interface ComponentHealth {
  status: HealthStatus;
  detail?: string;
}

export interface HealthReport {
  status: HealthStatus;
  version: string;
  uptimeSeconds: number;
  components: Record<string, ComponentHealth>;
}

export type HealthProbe = () => ComponentHealth | Promise<ComponentHealth>;

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, failed: 2 };

export class Health {
  private readonly probes = new Map<string, HealthProbe>();
  private readonly started = Date.now();

  constructor(readonly version: string) {}

  register(component: string, probe: HealthProbe): void {
    this.probes.set(component, probe);
  }

  async report(): Promise<HealthReport> {
    const components: Record<string, ComponentHealth> = {};
    let worst: HealthStatus = 'ok';
    for (const [name, probe] of this.probes) {
      let h: ComponentHealth;
      try {
        h = await probe();
      } catch (e) {
        h = { status: 'failed', detail: (e as Error).message };
      }
      components[name] = h;
      if (RANK[h.status] > RANK[worst]) worst = h.status;
    }
    return {
      status: worst,
      version: this.version,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      components,
    };
  }
}

/**
 * Health at a glance: appliance and component health, pools with their
 * bricks and heal backlog, capacity, running tasks, and live NFS/SMB
 * throughput computed from /metrics counters every few seconds.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, metricsText, paths, post } from '../api.js';
import type { PageProps } from '../app.js';
import { CapacityBar, LineChart } from '../components/chart.js';
import { useLoad } from '../components/hooks.js';
import { Alert, Badge, PageHeader, Problems } from '../components/ui.js';
import { TaskProgress } from '../components/task.js';
import { dateTime } from '../lib/format.js';
import { describe } from '../lib/errors.js';
import { bytes, bytesPerSecond, count, duration } from '../lib/format.js';
import { parseProm, pushPoint, type Scrape } from '../lib/prom.js';
import { brickHealth, brickKey, type BrickHealth } from '../lib/bricks.js';
import { healOf, timeLeft } from '../lib/heal.js';
import { quantityRate, quantityValue, type Quantity } from '../lib/throughput.js';
import { listOf, poolState, taskFinished, type Health, type Pool, type ReconcileStatus, type Share, type Task } from '../types.js';

const EVERY_MS = 3000;
const POINTS = 40;

type Plots = Record<Quantity, number[]>;
const emptyPlots = (): Plots => ({ nfsRead: [], nfsWrite: [], nfsOps: [], smbRead: [], smbWrite: [], smbOps: [], smbSessions: [] });

function useThroughput() {
  const [plots, setPlots] = useState<Plots>(emptyPlots);
  const [missing, setMissing] = useState<Set<Quantity>>(new Set());
  const [bricks, setBricks] = useState<Map<string, BrickHealth>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const prev = useRef<Scrape | null>(null);
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      try {
        const cur = parseProm(await metricsText(ac.signal), performance.now());
        const p = prev.current;
        prev.current = cur;
        setError(null);
        setBricks(brickHealth(cur));
        if (p) {
          const absent = new Set<Quantity>();
          setPlots((old) => {
            const next = { ...old };
            for (const q of Object.keys(old) as Quantity[]) {
              const v = q === 'smbSessions' ? quantityValue(cur, q) : quantityRate(p, cur, q);
              if (v !== null) next[q] = pushPoint(old[q], v, POINTS);
              else absent.add(q);
            }
            return next;
          });
          setMissing(absent);
        }
      } catch (e) {
        if (ac.signal.aborted) return;
        setError(e);
      }
      if (!ac.signal.aborted) timer = setTimeout(tick, EVERY_MS);
    };
    void tick();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, []);
  return { plots, missing, bricks, error };
}

export function poolCapacity(p: Pool): { used: number; total: number } | null {
  const c = p.capacity;
  return c && typeof c.totalBytes === 'number' && typeof c.usedBytes === 'number' ? { used: c.usedBytes, total: c.totalBytes } : null;
}

/** The reconciler: applied revision, problems, and "apply now" as a task with progress. */
function Reconcile({ admin }: { admin: boolean }) {
  const status = useLoad(async () => get<ReconcileStatus>(paths.status), [], 5000);
  const [task, setTask] = useState<Task | null>(null);
  const [error, setError] = useState<unknown>(null);
  const r = status.data?.reconcile;
  const behind = status.data && r && r.appliedRevision !== status.data.revision;
  return (
    <div class="tile wide">
      <h2>Configuration</h2>
      {r ? (
        <>
          <p>
            <Badge state={r.problems.length ? 'problems' : behind ? 'pending' : r.phase === 'off' ? 'off' : 'applied'} /> revision {status.data!.revision}
            {behind && r.appliedRevision !== null ? <span class="muted"> (applied: {r.appliedRevision})</span> : null}
          </p>
          <p class="muted">
            {r.phase}
            {r.lastRunAt ? `, last applied ${dateTime(r.lastRunAt)}` : ''}
            {r.nextRetryAt ? `, retry at ${dateTime(r.nextRetryAt)}` : ''}
          </p>
          {r.drivers.length > 0 && (
            <ul class="plain drivers" aria-label="Components">
              {r.drivers.map((dr) => (
                <li key={dr.name}>
                  <Badge state={dr.ok ? 'ok' : 'failed'} /> {dr.name}
                  {dr.summary || dr.error ? <span class="muted"> — {dr.error ?? dr.summary}</span> : null}
                </li>
              ))}
            </ul>
          )}
          <Problems problems={r.problems} />
        </>
      ) : (
        <p class="muted">{status.error ? describe(status.error) : 'Loading…'}</p>
      )}
      {admin && (
        <button
          type="button"
          class="small"
          disabled={Boolean(task)}
          onClick={() => {
            setError(null);
            post<Task>(paths.reconcile)
              .then(setTask)
              .catch((e: unknown) => setError(e));
          }}
        >
          Apply now
        </button>
      )}
      {task && <TaskProgress id={task.id} title={task.title ?? 'Apply the configuration'} onDone={() => (status.reload(), setTimeout(() => setTask(null), 4000))} />}
      {error ? <Alert>{describe(error)}</Alert> : null}
    </div>
  );
}

export function Dashboard({ session }: PageProps) {
  const health = useLoad(async () => get<Health>(paths.health), [], 5000);
  const pools = useLoad(async () => listOf<Pool>(await get(paths.pools), 'pools'), [], 5000);
  const shares = useLoad(async () => listOf<Share>(await get(paths.shares), 'shares'), [], 15000);
  const tasks = useLoad(async () => listOf<Task>(await get(paths.tasks).catch(() => [])), [], 5000);
  const { plots, missing, bricks: brickMetrics, error: metricsError } = useThroughput();
  const note = (qs: Quantity[]) =>
    qs.every((q) => missing.has(q)) ? 'not measured by this appliance yet' : qs.every((q) => plots[q].length === 0) ? 'waiting for data…' : undefined;
  const h = health.data;
  const running = (tasks.data ?? []).filter((t) => !taskFinished(t));
  const series = (q: Quantity, label: string, className: string) => ({ label, points: plots[q], className });
  return (
    <>
      <PageHeader title="Dashboard" />
      <section class="tiles" aria-label="Health">
        <div class={`tile status-${h?.status ?? 'unknown'}`}>
          <h2>Appliance</h2>
          <p class="big">{h ? <Badge state={h.status} /> : '…'}</p>
          <p class="muted">{h ? `Version ${h.version}, up ${duration(h.uptimeSeconds)}` : health.error ? describe(health.error) : 'Loading…'}</p>
        </div>
        <div class="tile">
          <h2>Services</h2>
          <ul class="plain">
            {h &&
              Object.entries(h.components).map(([name, c]) => (
                <li key={name}>
                  <Badge state={c.status} /> {name}
                  {c.detail ? <span class="muted"> — {c.detail}</span> : null}
                </li>
              ))}
          </ul>
        </div>
        <Reconcile admin={session.user.role !== 'read-only'} />
        <div class="tile">
          <h2>Shares</h2>
          <p class="big">{shares.data ? shares.data.length : '…'}</p>
          <p class="muted">
            {shares.data ? `${shares.data.filter((s) => s.smb.enabled).length} SMB, ${shares.data.filter((s) => s.nfs.enabled).length} NFS` : ''} · <a href="#/shares">Manage</a>
          </p>
        </div>
      </section>

      <section aria-label="Pools" class="pools-summary">
        <h2>Pools and capacity</h2>
        {pools.error ? <Alert>{describe(pools.error)}</Alert> : null}
        {(pools.data ?? []).map((p) => {
          const cap = poolCapacity(p);
          const bricks = p.bricks ?? [];
          const metricOf = (b: (typeof bricks)[number]) => brickMetrics.get(brickKey(p.id, b.host, b.path));
          const down = bricks.filter((b) => /down|fail|offline|missing/i.test(b.state ?? b.status ?? '') || metricOf(b)?.healthy === false);
          const view = healOf(p);
          const heal = view?.pending ?? p.status?.healPending ?? bricks.reduce((n, b) => n + (b.healPending ?? metricOf(b)?.healPending ?? 0), 0);
          return (
            <div class="pool-line" key={p.id}>
              <div>
                <strong>{p.id}</strong> <span class={`badge ${p.kind === 'local' ? 'warn' : 'ok'}`}>{p.label ?? (p.kind === 'local' ? 'unreplicated' : 'replicated')}</span>{' '}
                <Badge state={down.length && poolState(p) === 'online' ? 'degraded' : poolState(p)} />
              </div>
              {cap ? (
                <>
                  <CapacityBar used={cap.used} total={cap.total} label={`Capacity of ${p.id}`} />
                  <span class="muted">
                    {bytes(cap.used)} of {bytes(cap.total)} used
                  </span>
                </>
              ) : (
                <span class="muted">capacity unknown</span>
              )}
              <span class="muted">
                {bricks.length ? `${bricks.length - down.length}/${bricks.length} bricks up` : p.kind === 'local' ? 'one directory' : 'no bricks'}
                {heal ? ` · ${heal} files waiting to heal${view ? `, ${timeLeft(view.etaSeconds)}` : ''}` : ''}
              </span>
            </div>
          );
        })}
        {running.length > 0 && (
          <p>
            <a href="#/pools">
              {running.length} task{running.length === 1 ? '' : 's'} running
            </a>
          </p>
        )}
      </section>

      <section aria-label="Throughput" class="charts">
        <h2>Throughput</h2>
        {metricsError ? <Alert kind="warn">Live throughput is unavailable: {describe(metricsError)}</Alert> : null}
        <div class="chart-grid">
          <LineChart title="NFS" series={[series('nfsRead', 'read', 's-read'), series('nfsWrite', 'write', 's-write')]} format={bytesPerSecond} max={POINTS} note={note(['nfsRead', 'nfsWrite'])} />
          <LineChart title="NFS operations" series={[series('nfsOps', 'ops/s', 's-ops')]} format={count} max={POINTS} note={note(['nfsOps'])} />
          <LineChart title="SMB" series={[series('smbRead', 'read', 's-read'), series('smbWrite', 'write', 's-write')]} format={bytesPerSecond} max={POINTS} note={note(['smbRead', 'smbWrite'])} />
          <LineChart
            title="SMB operations"
            series={[series('smbOps', 'ops/s', 's-ops'), series('smbSessions', 'sessions', 's-sess')]}
            format={count}
            max={POINTS}
            note={note(['smbOps', 'smbSessions'])}
          />
        </div>
        <p class="hint">Every {EVERY_MS / 1000} s from the appliance's /metrics.</p>
      </section>
    </>
  );
}

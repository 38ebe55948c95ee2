/**
 * Pools and disks: each pool with its bricks (one per disk) and their state;
 * replace a failed brick with a spare disk, add disks; both start a task
 * whose progress (heal) shows here until it ends. Heal progress of a
 * gluster pool (GET /pools/:id `heal`: entries pending per brick, an
 * estimate of the time left) is reloaded every 3 s while entries are
 * pending.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, metricsText, paths, post, schemas } from '../api.js';
import { brickHealth, brickKey } from '../lib/bricks.js';
import { parseProm } from '../lib/prom.js';
import type { PageProps } from '../app.js';
import { CapacityBar } from '../components/chart.js';
import { useLoad, useSubmit } from '../components/hooks.js';
import { TaskProgress, taskIdOf } from '../components/task.js';
import { Alert, Badge, Check, Empty, FormError, PageHeader, Problems, TextField } from '../components/ui.js';
import { describe } from '../lib/errors.js';
import { bytes, dateTime } from '../lib/format.js';
import { diskLabel as labelOf, disksFieldErrors } from '../lib/pool-plan.js';
import { diskOfBrick, mountsOf, poolOfDisk } from '../lib/disks.js';
import { brickPending, healOf, healSummary, refreshMs, type HealView } from '../lib/heal.js';
import { diskIsSpare, diskKind, listOf, poolState, taskFinished, type Brick, type Disk, type Pool, type Task } from '../types.js';
import { poolCapacity } from './dashboard.js';

type Action = { kind: 'replace'; pool: Pool; brick: Brick } | { kind: 'add'; pool: Pool };

export function Pools({ session }: PageProps) {
  const [every, setEvery] = useState(5000);
  // The list; a gluster pool the list shows without heal progress is asked on its own (GET /pools/:id).
  const pools = useLoad(
    async (signal) => {
      const list = listOf<Pool>(await get(paths.pools, { signal }), 'pools');
      const full = await Promise.all(list.map((p) => (p.kind === 'gluster' && !('heal' in p) ? get<Pool>(paths.pool(p.id), { signal }).catch(() => p) : p)));
      setEvery(Math.min(5000, refreshMs(full.map(healOf))));
      return full;
    },
    [],
    every,
  );
  const disks = useLoad(async () => listOf<Disk>(await get(paths.disks), 'disks'), [], 10000);
  const tasks = useLoad(async () => listOf<Task>(await get(paths.tasks), 'tasks'), [], 5000);
  // Brick state and heal backlog come from /metrics when the pool view does not carry them.
  const health = useLoad(async () => brickHealth(parseProm(await metricsText().catch(() => ''))), [], 5000);
  const [action, setAction] = useState<Action | null>(null);
  const [followed, setFollowed] = useState<Array<{ id: string; title: string }>>([]);
  const [can, setCan] = useState({ replace: false, add: false });
  useEffect(() => {
    schemas()
      .then((s) => setCan({ replace: s.has('POST', paths.poolReplaceBrick('x')), add: s.has('POST', paths.poolAddDisks('x')) }))
      .catch(() => {});
  }, []);
  const admin = session.user.role !== 'read-only';
  const spare = (disks.data ?? []).filter(diskIsSpare);
  const running = (tasks.data ?? []).filter((t) => !taskFinished(t) && !followed.some((f) => f.id === t.id));
  return (
    <>
      <PageHeader title="Pools and disks" />
      {pools.error ? <Alert>{describe(pools.error)}</Alert> : null}
      {[...followed, ...running.map((t) => ({ id: t.id, title: t.title ?? t.kind ?? t.type ?? 'Task' }))].map((t) => (
        <TaskProgress key={t.id} id={t.id} title={t.title} onDone={() => (pools.reload(), disks.reload())} />
      ))}
      {(pools.data ?? []).map((p) => {
        const cap = poolCapacity(p);
        const bricks = p.bricks ?? [];
        const heal = healOf(p);
        return (
          <section class="card pool" key={p.id} aria-labelledby={`pool-${p.id}`}>
            <div class="card-head">
              <h2 id={`pool-${p.id}`}>
                {p.id} <span class={`badge ${p.kind === 'local' ? 'warn' : 'ok'}`}>{p.label ?? (p.kind === 'local' ? 'unreplicated' : 'replicated')}</span>
              </h2>
              <Badge state={poolState(p)} />
            </div>
            {p.kind === 'local' ? (
              <p class="muted">
                A directory ({p.path ?? 'in the data directory'}) on one disk. Nothing is replicated: keep backups, or build a replicated pool from several disks.
              </p>
            ) : (
              <p class="muted">
                GlusterFS, replica {p.replica ?? '?'}
                {p.arbiter ? ' with arbiter' : ''}, {bricks.length} brick{bricks.length === 1 ? '' : 's'}
                {!heal && p.status?.healPending ? ` · ${p.status.healPending} files waiting to heal` : ''}
                {bricks.length === 0 ? ' · no disks yet: add disks to create its volume' : ''}
              </p>
            )}
            {heal && <HealLine pool={p.id} heal={heal} />}
            {cap && (
              <div class="cap-line">
                <CapacityBar used={cap.used} total={cap.total} label={`Capacity of ${p.id}`} />
                <span class="muted">
                  {bytes(cap.used)} of {bytes(cap.total)} used, {bytes(cap.total - cap.used)} free
                </span>
              </div>
            )}
            <Problems problems={p.problems} />
            {bricks.length > 0 && (
              <table>
                <caption class="sr-only">Bricks of {p.id}</caption>
                <thead>
                  <tr>
                    <th scope="col">Brick</th>
                    <th scope="col">Disk</th>
                    <th scope="col">State</th>
                    <th scope="col">Heal pending</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {bricks.map((b) => {
                    const m = health.data?.get(brickKey(p.id, b.host, b.path));
                    const state = b.state ?? b.status ?? (m?.healthy === undefined ? 'unknown' : m.healthy ? 'online' : 'down');
                    const pending = brickPending(heal, `${b.host}:${b.path}`) ?? b.healPending ?? m?.healPending;
                    const failed = /down|fail|offline|missing/i.test(state);
                    return (
                      <tr key={`${b.host}:${b.path}`} class={failed ? 'failed' : ''}>
                        <td>
                          <code>
                            {b.host}:{b.path}
                          </code>
                        </td>
                        <td>{b.disk ?? diskOfBrick(b.path, disks.data ?? []) ?? '—'}</td>
                        <td>
                          <Badge state={state} />
                        </td>
                        <td>{pending ?? '—'}</td>
                        <td>
                          {admin && failed && (
                            <button type="button" class="small danger" disabled={!can.replace} onClick={() => setAction({ kind: 'replace', pool: p, brick: b })} aria-label={`Replace brick ${b.host}:${b.path}`}>
                              Replace
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
            {admin && p.kind === 'gluster' && (
              <div class="actions">
                <button type="button" disabled={!can.add || spare.length === 0} onClick={() => setAction({ kind: 'add', pool: p })}>
                  Add disks
                </button>
              </div>
            )}
            {action && action.pool.id === p.id && (
              <DiskAction
                action={action}
                spare={spare}
                onCancel={() => setAction(null)}
                onStarted={(id, title) => {
                  setAction(null);
                  if (id) setFollowed((f) => [...f, { id, title }]);
                  pools.reload();
                }}
              />
            )}
          </section>
        );
      })}
      {(!can.replace || !can.add) && admin && <p class="hint">Replacing bricks and adding disks become available when this appliance's API offers them.</p>}

      <section aria-labelledby="disks-h">
        <h2 id="disks-h">Disks</h2>
        {disks.error ? <Alert kind="info">Disks cannot be listed: {describe(disks.error)}</Alert> : null}
        {disks.data && disks.data.length === 0 && <Empty>No disks found besides the system disk.</Empty>}
        {disks.data && disks.data.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Disk</th>
                <th scope="col">Size</th>
                <th scope="col">Model</th>
                <th scope="col">Used by</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {disks.data.map((d) => (
                <tr key={d.path}>
                  <td>
                    <code>{d.path}</code>
                  </td>
                  <td>{bytes(d.sizeBytes)}</td>
                  <td>{[d.model, d.serial, diskKind(d)].filter(Boolean).join(' ') || '—'}</td>
                  <td>{d.pool ?? usedBy(d, pools.data ?? [], disks.data ?? [])}</td>
                  <td>
                    <Badge state={d.state ?? (diskIsSpare(d) ? 'spare' : 'online')} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

/** "pool data", "spare", or where the disk is mounted. */
function usedBy(d: Disk, pools: Pool[], all: Disk[]): string {
  const pool = poolOfDisk(d, pools, all);
  if (pool) return `pool ${pool}`;
  if (diskIsSpare(d)) return 'spare';
  return mountsOf(d).join(', ') || 'in use';
}

/** Heal progress of one pool: the sentence, and a bar while entries are pending. */
function HealLine({ pool, heal }: { pool: string; heal: HealView }) {
  return (
    <div class="heal" role="status" aria-label={`Heal progress of ${pool}`}>
      <p>
        <strong>{heal.pending > 0 ? 'Healing: ' : ''}</strong>
        {healSummary(heal)}
        {heal.sampledAt && <span class="muted"> Measured {dateTime(heal.sampledAt)}.</span>}
      </p>
    </div>
  );
}

function DiskAction({ action, spare, onCancel, onStarted }: { action: Action; spare: Disk[]; onCancel: () => void; onStarted: (taskId: string | undefined, title: string) => void }) {
  const [chosen, setChosen] = useState<string[]>([]);
  const [confirm, setConfirm] = useState('');
  // Keyboard and screen reader users land in the form that just opened.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const title = action.kind === 'replace' ? `Replace brick ${action.brick.host}:${action.brick.path}` : `Add disks to ${action.pool.id}`;
  // The admin typed "erase": the API erases what the disks hold only when told (wipe).
  const { busy, error, fields, run } = useSubmit(async () => {
    const res =
      action.kind === 'replace'
        ? await post(paths.poolReplaceBrick(action.pool.id), { brick: { host: action.brick.host, path: action.brick.path }, disk: chosen[0], wipe: true })
        : await post(paths.poolAddDisks(action.pool.id), { disks: chosen, wipe: true });
    onStarted(taskIdOf(res), title);
  });
  const single = action.kind === 'replace';
  const key = single ? 'disk' : 'disks';
  const diskErrors = disksFieldErrors(fields, key, chosen);
  const set = (action.pool.replica ?? 1) + (action.pool.arbiter ?? 0);
  const wrongCount = !single && chosen.length > 0 && chosen.length % set !== 0;
  const ok = chosen.length > 0 && !wrongCount && confirm.trim().toLowerCase() === 'erase';
  return (
    <form
      class="inline-form"
      aria-label={title}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (ok) void run();
      }}
    >
      <h3 ref={heading} tabIndex={-1}>
        {title}
      </h3>
      {spare.length === 0 ? (
        <Alert kind="info">There is no spare disk. Add one to the appliance first.</Alert>
      ) : (
        <fieldset>
          <legend>{single ? 'The new disk' : 'Disks to add'}</legend>
          {!single && set > 1 && <p class="hint">Disks join the pool in sets of {set}, one copy each: pick {set}, {2 * set}, … disks.</p>}
          {spare.map((d) => (
            <Check
              key={d.path}
              name={`${key}.${d.path}`}
              label={labelOf(d, bytes)}
              checked={chosen.includes(d.path)}
              onValue={(on) => setChosen(on ? (single ? [d.path] : [...chosen, d.path]) : chosen.filter((x) => x !== d.path))}
              errors={diskErrors}
            />
          ))}
        </fieldset>
      )}
      {wrongCount && (
        <p class="field-error" role="status">
          {chosen.length} disk{chosen.length === 1 ? '' : 's'} picked: pick a multiple of {set}.
        </p>
      )}
      {chosen.length > 0 && (
        <>
          <Alert kind="warn">
            Everything on {chosen.join(', ')} will be erased.{' '}
            {single ? 'Healing then copies the data onto it; progress shows above.' : 'The new disks add space; progress shows above.'}
          </Alert>
          <TextField label='Type "erase" to confirm' name="confirm" value={confirm} onValue={setConfirm} autoComplete="off" />
        </>
      )}
      <FormError error={error} fields={diskErrors} />
      <div class="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="danger" disabled={busy || !ok}>
          {busy ? 'Starting…' : single ? 'Erase and replace' : 'Erase and add'}
        </button>
      </div>
    </form>
  );
}

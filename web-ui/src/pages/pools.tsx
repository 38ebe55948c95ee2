/**
 * Pools and disks: each pool with its bricks (one per disk) and their state;
 * replace a failed brick with a spare disk, add disks; both start a task
 * whose progress (heal) shows here until it ends.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, metricsText, paths, post, schemas } from '../api.js';
import { brickHealth, brickKey } from '../lib/bricks.js';
import { parseProm } from '../lib/prom.js';
import type { PageProps } from '../app.js';
import { CapacityBar } from '../components/chart.js';
import { useLoad, useSubmit } from '../components/hooks.js';
import { TaskProgress, taskIdOf } from '../components/task.js';
import { Alert, Badge, Check, Empty, FormError, PageHeader, Problems, TextField } from '../components/ui.js';
import { describe } from '../lib/errors.js';
import { bytes } from '../lib/format.js';
import { diskIsSpare, listOf, poolState, taskFinished, type Brick, type Disk, type Pool, type Task } from '../types.js';
import { poolCapacity } from './dashboard.js';

type Action = { kind: 'replace'; pool: Pool; brick: Brick } | { kind: 'add'; pool: Pool };

export function Pools({ session }: PageProps) {
  const pools = useLoad(async () => listOf<Pool>(await get(paths.pools), 'pools'), [], 5000);
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
                {p.status?.healPending ? ` · ${p.status.healPending} files waiting to heal` : ''}
              </p>
            )}
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
                    const heal = b.healPending ?? m?.healPending;
                    const failed = /down|fail|offline|missing/i.test(state);
                    return (
                      <tr key={`${b.host}:${b.path}`} class={failed ? 'failed' : ''}>
                        <td>
                          <code>
                            {b.host}:{b.path}
                          </code>
                        </td>
                        <td>{b.disk ?? '—'}</td>
                        <td>
                          <Badge state={state} />
                        </td>
                        <td>{heal ?? '—'}</td>
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
                  <td>{[d.model, d.serial].filter(Boolean).join(' ') || '—'}</td>
                  <td>{d.pool ?? (diskIsSpare(d) ? 'spare' : (d.mountpoint ?? (d.children ?? []).map((c) => c.mountpoint).filter(Boolean).join(', ')) || 'in use')}</td>
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

function DiskAction({ action, spare, onCancel, onStarted }: { action: Action; spare: Disk[]; onCancel: () => void; onStarted: (taskId: string | undefined, title: string) => void }) {
  const [chosen, setChosen] = useState<string[]>([]);
  const [confirm, setConfirm] = useState('');
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
  const ok = chosen.length > 0 && confirm.trim().toLowerCase() === 'erase';
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
      <h3>{title}</h3>
      {spare.length === 0 ? (
        <Alert kind="info">There is no spare disk. Add one to the appliance first.</Alert>
      ) : (
        <fieldset>
          <legend>{single ? 'The new disk' : 'Disks to add'}</legend>
          {spare.map((d) => (
            <Check
              key={d.path}
              name={single ? 'disk' : 'disks'}
              label={`${d.path} — ${bytes(d.sizeBytes)}${d.model ? ` ${d.model}` : ''}`}
              checked={chosen.includes(d.path)}
              onValue={(on) => setChosen(on ? (single ? [d.path] : [...chosen, d.path]) : chosen.filter((x) => x !== d.path))}
              errors={fields}
            />
          ))}
        </fieldset>
      )}
      {chosen.length > 0 && (
        <>
          <Alert kind="warn">Everything on {chosen.join(', ')} will be erased. Healing copies the data onto it afterwards; progress shows above.</Alert>
          <TextField label='Type "erase" to confirm' name="confirm" value={confirm} onValue={setConfirm} autoComplete="off" />
        </>
      )}
      <FormError error={error} />
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

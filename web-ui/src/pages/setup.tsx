/**
 * First boot: the admin password (proved by the one-time setup token from
 * the log or DATA_DIR/setup-token), the appliance's name, the first pool and
 * the first SMB share and NFS export. Each step is one API call; a step that
 * fails can be retried without redoing the others.
 */
import { useEffect, useState } from 'preact/hooks';
import { del, get, paths, post, schemas, setCsrfToken } from '../api.js';
import { useSubmit } from '../components/hooks.js';
import { TaskProgress, taskIdOf } from '../components/task.js';
import { Alert, Check, FormError, Select, TextField } from '../components/ui.js';
import { ApiError, describe } from '../lib/errors.js';
import { bytes } from '../lib/format.js';
import { diskLabel, disksFieldErrors, emptyGlusterPool, layoutKey, layoutProblem, layoutsFor } from '../lib/pool-plan.js';
import { splitList } from '../lib/shares.js';
import { diskIsSpare, listOf, taskFailed, type Disk, type Pool, type Session, type Task } from '../types.js';
import { newShare } from './shares.js';

type Step = 'admin' | 'pool' | 'shares' | 'done';

export function Setup({ onDone }: { onDone: () => void }) {
  const [step, setStep] = useState<Step>('admin');
  const steps: Array<[Step, string]> = [
    ['admin', 'Administrator'],
    ['pool', 'Storage pool'],
    ['shares', 'First shares'],
  ];
  return (
    <main class="narrow setup">
      <h1>Set up Cairn</h1>
      <ol class="steps" aria-label="Setup steps">
        {steps.map(([s, label], i) => (
          <li key={s} class={s === step ? 'current' : steps.findIndex(([x]) => x === step) > i ? 'done' : ''} aria-current={s === step ? 'step' : undefined}>
            {label}
          </li>
        ))}
      </ol>
      {step === 'admin' && <AdminStep onNext={() => setStep('pool')} />}
      {step === 'pool' && <PoolStep onNext={() => setStep('shares')} />}
      {step === 'shares' && <SharesStep onNext={() => setStep('done')} />}
      {step === 'done' && (
        <section>
          <Alert kind="ok">Cairn is ready.</Alert>
          <button class="primary" type="button" onClick={onDone} autoFocus>
            Open the dashboard
          </button>
        </section>
      )}
    </main>
  );
}

function AdminStep({ onNext }: { onNext: () => void }) {
  const [token, setToken] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [name, setName] = useState('cairn');
  const { busy, error, fields, run, setFields } = useSubmit(async () => {
    if (password !== again) {
      setFields({ passwordAgain: ['The two passwords differ.'] });
      throw new Error('The two passwords differ');
    }
    const res = await post<Session | undefined>(paths.setup, { token: token.trim(), password, applianceName: name }, { quiet401: true });
    // Setup may sign the admin in; if it did not, sign in with what was just set.
    if (res?.csrfToken) setCsrfToken(res.csrfToken);
    else {
      const s = await post<Session>(paths.sessions, { username: 'admin', password }, { quiet401: true });
      setCsrfToken(s?.csrfToken);
    }
    onNext();
  });
  return (
    <form
      aria-label="Administrator"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <p>
        The setup token is printed in cairnd's log and written to <code>setup-token</code> in its data directory. It works once.
      </p>
      <TextField label="Setup token" name="token" value={token} onValue={setToken} errors={fields} autoComplete="off" spellcheck={false} autoFocus />
      <TextField label="Appliance name" name="applianceName" value={name} onValue={setName} errors={fields} hint="Its host and NetBIOS name: letters, digits and dashes." />
      <TextField label="Administrator password" name="password" type="password" value={password} onValue={setPassword} errors={fields} autoComplete="new-password" hint="The administrator signs in as admin." />
      <TextField label="Password again" name="passwordAgain" type="password" value={again} onValue={setAgain} errors={fields} autoComplete="new-password" />
      <FormError error={error} />
      <button class="primary" type="submit" disabled={busy}>
        {busy ? 'Setting up…' : 'Continue'}
      </button>
    </form>
  );
}

/** The id of the replicated pool made at first boot. */
export const FIRST_POOL = 'data';

/**
 * The first pool. No disks: the local pool that already exists. Disks: an
 * empty gluster pool (POST /pools with no bricks), then the disks as a task
 * (POST /pools/:id/disks, erased after the typed confirmation) whose
 * progress shows here; the pool driver then creates the volume. A failed
 * task can be retried (the empty pool is reused) or abandoned for the
 * local pool (the empty pool is removed).
 */
function PoolStep({ onNext }: { onNext: () => void }) {
  const [disks, setDisks] = useState<Disk[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [chosen, setChosen] = useState<string[]>([]);
  const [confirm, setConfirm] = useState('');
  const [layout, setLayout] = useState('');
  const [canCreate, setCanCreate] = useState(false);
  const [task, setTask] = useState<{ id: string; outcome?: Task } | null>(null);
  useEffect(() => {
    get<unknown>(paths.disks)
      .then((d) => setDisks(listOf<Disk>(d, 'disks').filter(diskIsSpare)))
      .catch((e: unknown) => setLoadError(e));
    schemas()
      .then((s) => setCanCreate(s.has('POST', paths.poolAddDisks(FIRST_POOL))))
      .catch(() => setCanCreate(false));
  }, []);
  const layouts = layoutsFor(chosen.length);
  const picked = layouts.find((l) => layoutKey(l) === layout) ?? layouts[0];
  const running = task !== null && !task.outcome;
  const { busy, error, fields, run } = useSubmit(async () => {
    if (!chosen.length) {
      // Back to the local pool after a failed attempt: the empty pool goes.
      const left = await existingPool();
      if (left?.kind === 'gluster' && (left.bricks ?? []).length === 0) await del(paths.pool(FIRST_POOL)).catch(() => undefined);
      onNext();
      return;
    }
    if (!picked) throw new Error(layoutProblem(chosen.length) ?? 'Pick disks for the pool.');
    const have = await existingPool();
    if (have && (have.kind !== 'gluster' || (have.bricks ?? []).length > 0)) throw new Error(`A pool named "${FIRST_POOL}" exists already: add disks to it under Pools and disks.`);
    if (have && (have.replica !== picked.replica || (have.arbiter ?? 0) !== picked.arbiter)) await del(paths.pool(FIRST_POOL));
    if (!have || have.replica !== picked.replica || (have.arbiter ?? 0) !== picked.arbiter) await post(paths.pools, emptyGlusterPool(FIRST_POOL, picked));
    const res = await post(paths.poolAddDisks(FIRST_POOL), { disks: chosen, wipe: true });
    const id = taskIdOf(res);
    if (!id) throw new Error('The appliance started no task for the disks.');
    setTask({ id });
  });
  const diskErrors = disksFieldErrors(fields, 'disks', chosen);
  const wipeOk = chosen.length === 0 || (confirm.trim().toLowerCase() === 'erase' && picked !== undefined);
  const succeeded = task?.outcome && !taskFailed(task.outcome);
  return (
    <form
      aria-label="Storage pool"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (succeeded) onNext();
        else if (wipeOk && !running) void run();
      }}
    >
      <fieldset disabled={running || succeeded}>
        <legend>Where shares keep their data</legend>
        <p>
          The <strong>local</strong> pool is a directory on the system disk: <span class="badge warn">unreplicated</span> — one disk failure loses its data. It is the default and needs
          no disks.
        </p>
        {loadError ? <Alert kind="info">No disks to offer: {describe(loadError)}</Alert> : null}
        {!disks && !loadError && <p class="muted" aria-busy="true">Looking for disks…</p>}
        {disks && disks.length === 0 && <p class="muted">No unused disks were found.</p>}
        {disks && disks.length > 0 && !canCreate && (
          <p class="muted">
            Unused disks: {disks.map((d) => `${d.path} (${bytes(d.sizeBytes)})`).join(', ')}. Building a replicated pool from disks is not offered by this appliance yet; add them later under
            Pools and disks.
          </p>
        )}
        {disks && disks.length > 0 && canCreate && (
          <>
            <p>Or build a replicated pool from these disks:</p>
            {disks.map((d) => (
              <Check
                key={d.path}
                name={`disks.${d.path}`}
                label={diskLabel(d, bytes)}
                checked={chosen.includes(d.path)}
                onValue={(on) => setChosen(on ? [...chosen, d.path] : chosen.filter((p) => p !== d.path))}
                errors={diskErrors}
              />
            ))}
          </>
        )}
        {chosen.length > 0 && layouts.length > 1 && (
          <Select
            label="Copies"
            name="replica"
            value={picked ? layoutKey(picked) : ''}
            onValue={setLayout}
            options={layouts.map((l) => [layoutKey(l), l.label] as [string, string])}
            hint="Each copy sits on another disk. More copies survive more failed disks and leave less space."
          />
        )}
        {chosen.length > 0 && layouts.length === 1 && <p class="hint">{layouts[0]!.label}.</p>}
        {chosen.length > 0 && !picked && <p class="field-error">{layoutProblem(chosen.length)}</p>}
      </fieldset>
      {chosen.length > 0 && !succeeded && (
        <div class="wipe">
          <Alert kind="warn">
            Everything on {chosen.length === 1 ? chosen[0] : `these ${chosen.length} disks (${chosen.join(', ')})`} will be erased. This cannot be undone.
          </Alert>
          <TextField label='Type "erase" to confirm' name="confirm" value={confirm} onValue={setConfirm} autoComplete="off" />
        </div>
      )}
      {task && (
        <TaskProgress
          key={task.id}
          id={task.id}
          title={`Preparing ${chosen.length} disk${chosen.length === 1 ? '' : 's'} for pool ${FIRST_POOL}`}
          onDone={(t) => setTask({ id: task.id, outcome: t })}
        />
      )}
      {succeeded && <Alert kind="ok">The disks are ready: the appliance now creates the replicated pool "{FIRST_POOL}" from them.</Alert>}
      {task?.outcome && !succeeded && <p class="hint">Nothing was added to the pool. Try again, or pick no disks to use the local pool.</p>}
      <FormError error={error} fields={diskErrors} />
      {succeeded ? (
        <button class="primary" type="submit" autoFocus>
          Continue
        </button>
      ) : (
        <button class="primary" type="submit" disabled={busy || running || !wipeOk}>
          {chosen.length ? (busy || running ? 'Creating the pool…' : task?.outcome ? 'Try again' : 'Erase the disks and create the pool') : 'Use the local pool'}
        </button>
      )}
    </form>
  );
}

async function existingPool(): Promise<Pool | undefined> {
  return listOf<Pool>(await get(paths.pools), 'pools').find((p) => p.id === FIRST_POOL);
}

function SharesStep({ onNext }: { onNext: () => void }) {
  const [pools, setPools] = useState<Pool[]>([]);
  const [smbName, setSmbName] = useState('projects');
  const [nfsName, setNfsName] = useState('vmstore');
  const [clients, setClients] = useState('192.168.0.0/16');
  const [smbFields, setSmbFields] = useState<Record<string, string[]>>({});
  const [nfsFields, setNfsFields] = useState<Record<string, string[]>>({});
  useEffect(() => {
    get<unknown>(paths.pools)
      .then((p) => setPools(listOf<Pool>(p, 'pools')))
      .catch(() => setPools([]));
  }, []);
  // The replicated pool when one has disks, else the local one.
  const pool = pools.find((p) => p.kind === 'gluster' && (p.bricks ?? []).length > 0)?.id ?? pools.find((p) => p.kind === 'local')?.id ?? 'local';
  const { busy, error, run } = useSubmit(async () => {
    setSmbFields({});
    setNfsFields({});
    const create = async (body: unknown, setF: (f: Record<string, string[]>) => void) => {
      try {
        await post(paths.shares, body);
      } catch (e) {
        if (e instanceof ApiError) setF(e.fields);
        throw e;
      }
    };
    if (smbName.trim()) {
      const s = newShare(smbName.trim(), pool);
      s.smb.enabled = true;
      await create(s, setSmbFields);
      setSmbName('');
    }
    if (nfsName.trim()) {
      const s = newShare(nfsName.trim(), pool);
      s.nfs.enabled = true;
      s.nfs.clients = splitList(clients).map((match) => ({ match, access: 'rw', squash: 'root_squash', anonUid: 65534, anonGid: 65534, secure: false }));
      await create(s, setNfsFields);
      setNfsName('');
    }
    onNext();
  });
  return (
    <form
      aria-label="First shares"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <fieldset>
        <legend>An SMB share for Windows and macOS</legend>
        <TextField label="SMB share name" name="name" value={smbName} onValue={setSmbName} errors={smbFields} hint={`On the pool "${pool}". Leave empty to skip.`} />
      </fieldset>
      <fieldset>
        <legend>An NFS export for hypervisors</legend>
        <TextField label="NFS export name" name="name" value={nfsName} onValue={setNfsName} errors={nfsFields} hint="Leave empty to skip." />
        <TextField label="Allowed clients" name="nfs.clients.0.match" value={clients} onValue={setClients} errors={nfsFields} hint="Networks or addresses, separated by commas." />
      </fieldset>
      <FormError error={error} />
      <div class="actions">
        <button type="button" onClick={onNext}>
          Skip
        </button>
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create and finish'}
        </button>
      </div>
    </form>
  );
}

/**
 * First boot: the admin password (proved by the one-time setup token from
 * the log or DATA_DIR/setup-token), the appliance's name, the first pool and
 * the first SMB share and NFS export. Each step is one API call; a step that
 * fails can be retried without redoing the others.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, paths, post, schemas, setCsrfToken } from '../api.js';
import { useSubmit } from '../components/hooks.js';
import { Alert, Check, FormError, TextField } from '../components/ui.js';
import { ApiError, describe } from '../lib/errors.js';
import { bytes } from '../lib/format.js';
import { splitList } from '../lib/shares.js';
import { diskIsSpare, listOf, type Disk, type Pool, type Session } from '../types.js';
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

function PoolStep({ onNext }: { onNext: () => void }) {
  const [disks, setDisks] = useState<Disk[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [chosen, setChosen] = useState<string[]>([]);
  const [confirm, setConfirm] = useState('');
  const [canCreate, setCanCreate] = useState(false);
  useEffect(() => {
    get<unknown>(paths.disks)
      .then((d) => setDisks(listOf<Disk>(d, 'disks').filter(diskIsSpare)))
      .catch((e: unknown) => setLoadError(e));
    schemas()
      .then((s) => setCanCreate(s.accepts('POST', paths.pools, 'disks')))
      .catch(() => setCanCreate(false));
  }, []);
  const { busy, error, fields, run } = useSubmit(async () => {
    if (chosen.length) {
      await post(paths.pools, { id: 'data', kind: 'gluster', disks: chosen });
    }
    onNext();
  });
  const wipeOk = chosen.length === 0 || confirm.trim().toLowerCase() === 'erase';
  return (
    <form
      aria-label="Storage pool"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (wipeOk) void run();
      }}
    >
      <fieldset>
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
                label={`${d.path} — ${bytes(d.sizeBytes)}${d.model ? ` ${d.model}` : ''}`}
                checked={chosen.includes(d.path)}
                onValue={(on) => setChosen(on ? [...chosen, d.path] : chosen.filter((p) => p !== d.path))}
              />
            ))}
          </>
        )}
      </fieldset>
      {chosen.length > 0 && (
        <div class="wipe">
          <Alert kind="warn">
            Everything on {chosen.length === 1 ? chosen[0] : `these ${chosen.length} disks`} will be erased. This cannot be undone.
          </Alert>
          <TextField label='Type "erase" to confirm' name="confirm" value={confirm} onValue={setConfirm} autoComplete="off" />
        </div>
      )}
      <FormError error={error} />
      {Object.keys(fields).length > 0 && <p class="field-error">{Object.values(fields).flat().join(' ')}</p>}
      <button class="primary" type="submit" disabled={busy || !wipeOk}>
        {chosen.length ? (busy ? 'Creating the pool…' : 'Erase the disks and create the pool') : 'Use the local pool'}
      </button>
    </form>
  );
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
  const pool = pools.find((p) => p.kind === 'gluster')?.id ?? pools[0]?.id ?? 'local';
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

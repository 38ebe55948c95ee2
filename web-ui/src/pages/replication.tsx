/**
 * Replication: asynchronous copies of local volumes on remote appliances
 * (Gluster geo-replication). Lists every session with its state, lag and
 * last synced time, refreshed every 5 s; admins create, pause, resume,
 * checkpoint and delete sessions. Failover and failback are scripted
 * (`cairn-georep`, docs/geo-replication.md), not buttons: they change which
 * site serves clients.
 */
import { useState } from 'preact/hooks';
import { API, del, get, post } from '../api.js';
import type { PageProps } from '../app.js';
import { useLoad, useSubmit } from '../components/hooks.js';
import { Alert, Confirm, CopyBox, Empty, FormError, PageHeader, TextArea, TextField } from '../components/ui.js';
import { describe } from '../lib/errors.js';
import { dateTime, duration } from '../lib/format.js';

/** GET /replication/sessions, as the API's ReplicationSession schema says. */
interface Worker {
  node: string;
  brick: string;
  status: string;
  crawlStatus: string | null;
  lastSynced: string | null;
  pending: number;
  failures: number;
}
interface Session {
  volume: string;
  remoteHost: string;
  remoteVolume: string;
  state: 'active' | 'faulty' | 'paused' | 'stopped' | 'initializing' | 'created' | 'offline';
  lastSynced: string | null;
  lagSeconds: number | null;
  upToDate: boolean;
  pending: number;
  failures: number;
  checkpoint: { time: string; completed: boolean } | null;
  workers: Worker[];
}

const BASE = `${API}/replication/sessions`;
const one = (s: Session) => `${BASE}/${[s.volume, s.remoteHost, s.remoteVolume].map(encodeURIComponent).join('/')}`;
const REFRESH_MS = 5000;

const TONE: Record<Session['state'], string> = { active: 'ok', initializing: 'warn', created: 'warn', paused: 'warn', stopped: 'warn', faulty: 'bad', offline: 'bad' };

function Lag({ s }: { s: Session }) {
  if (s.lagSeconds === null) return <span class="muted">not synced yet</span>;
  // gsyncd moves "last synced" only when a change syncs: idle is not behind.
  if (s.upToDate) return <span title={`last change synced ${duration(s.lagSeconds)} ago`}>in sync</span>;
  return <span>{duration(s.lagSeconds)} behind</span>;
}

export function Replication({ session }: PageProps) {
  const list = useLoad(async () => (await get<{ sessions: Session[]; checkedAt: string }>(BASE)), [], REFRESH_MS);
  const [actionError, setActionError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<Session | null>(null);
  const [volume, setVolume] = useState('');
  const [remoteHost, setRemoteHost] = useState('');
  const [remoteVolume, setRemoteVolume] = useState('');
  const [sshPort, setSshPort] = useState('');
  const admin = session.user.role !== 'read-only';
  const { busy, error, fields, run } = useSubmit(async () => {
    const body: Record<string, unknown> = { volume, remoteHost, remoteVolume };
    if (sshPort.trim() !== '') body['sshPort'] = Number(sshPort);
    await post(BASE, body);
    setVolume('');
    setRemoteHost('');
    setRemoteVolume('');
    setSshPort('');
    list.reload();
  });
  const [ownKey, setOwnKey] = useState<string | null>(null);
  const [keyError, setKeyError] = useState<unknown>(null);
  const [remoteKey, setRemoteKey] = useState('');
  const [authorized, setAuthorized] = useState<boolean | null>(null);
  const auth = useSubmit(async () => {
    const r = await post<{ added: boolean }>(`${API}/replication/authorized-keys`, { key: remoteKey });
    setAuthorized(r.added);
    setRemoteKey('');
  });
  const showKey = () =>
    get<{ key: string }>(`${API}/replication/ssh-key`)
      .then((r) => (setKeyError(null), setOwnKey(r.key)))
      .catch((e: unknown) => setKeyError(e));
  const act = (s: Session, verb: 'pause' | 'resume' | 'checkpoint' | 'restart') =>
    post(`${one(s)}/${verb}`)
      .then(() => (setActionError(null), list.reload()))
      .catch((e: unknown) => setActionError(e));
  const sessions = list.data?.sessions;
  return (
    <>
      <PageHeader title="Replication" />
      <p class="muted">
        Asynchronous copies of this appliance's volumes on remote appliances (Gluster geo-replication). The lag is how long ago the last change reached the remote copy while
        changes wait; refreshed every {REFRESH_MS / 1000} s{list.data ? `, last at ${dateTime(list.data.checkedAt)}` : ''}.
      </p>
      {actionError ? <Alert>{describe(actionError)}</Alert> : null}
      {list.error ? <Alert>{describe(list.error)}</Alert> : null}
      {sessions && sessions.length === 0 && <Empty>No replication yet.</Empty>}
      {sessions && sessions.length > 0 && (
        <table aria-label="Replication sessions">
          <thead>
            <tr>
              <th scope="col">Volume</th>
              <th scope="col">Remote copy</th>
              <th scope="col">State</th>
              <th scope="col">Lag</th>
              <th scope="col">Last synced</th>
              <th scope="col">Pending</th>
              <th scope="col">Workers</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={`${s.volume} ${s.remoteHost} ${s.remoteVolume}`} data-session={`${s.volume}:${s.remoteHost}:${s.remoteVolume}`}>
                <td>{s.volume}</td>
                <td>
                  {s.remoteHost}::{s.remoteVolume}
                </td>
                <td>
                  <span class={`badge ${TONE[s.state] ?? 'muted'}`}>{s.state}</span>
                  {s.failures > 0 && <span class="badge bad">{s.failures} failed</span>}
                  {s.checkpoint && (
                    <div class="muted small">
                      checkpoint {dateTime(s.checkpoint.time)}: {s.checkpoint.completed ? 'reached' : 'not yet'}
                    </div>
                  )}
                </td>
                <td class="lag">
                  <Lag s={s} />
                </td>
                <td class="last-synced">{s.lastSynced ? dateTime(s.lastSynced) : '—'}</td>
                <td>{s.pending}</td>
                <td>
                  <ul class="plain">
                    {s.workers.map((w) => (
                      <li key={`${w.node}:${w.brick}`} title={`${w.brick}${w.crawlStatus ? `, ${w.crawlStatus}` : ''}`}>
                        {w.node}: {w.status}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  {admin && (
                    <>
                      {s.state === 'paused' ? (
                        <button type="button" class="small" onClick={() => void act(s, 'resume')} aria-label={`Resume replication of ${s.volume}`}>
                          Resume
                        </button>
                      ) : (
                        <button type="button" class="small" onClick={() => void act(s, 'pause')} aria-label={`Pause replication of ${s.volume}`}>
                          Pause
                        </button>
                      )}{' '}
                      <button type="button" class="small" onClick={() => void act(s, 'checkpoint')} aria-label={`Set a checkpoint on replication of ${s.volume}`}>
                        Checkpoint
                      </button>{' '}
                      <button
                        type="button"
                        class="small"
                        onClick={() => void act(s, 'restart')}
                        aria-label={`Restart replication of ${s.volume}`}
                        title="Stop and start: new workers replay the changes since the last sync (for a session that stays behind)"
                      >
                        Restart
                      </button>{' '}
                      <button type="button" class="small danger" onClick={() => setDeleting(s)} aria-label={`Delete replication of ${s.volume}`}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && (
        <form
          class="inline-form"
          aria-label="New replication"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void run();
          }}
        >
          <h2>Replicate a volume</h2>
          <p class="muted">
            First authorize this appliance's key on the remote appliance (below: copy it here, paste it there under "Authorize a primary appliance"). The remote volume must
            exist, be started and be empty.
          </p>
          <div class="row">
            <TextField label="Local volume" name="volume" value={volume} onValue={setVolume} errors={fields} />
            <TextField label="Remote appliance" name="remoteHost" value={remoteHost} onValue={setRemoteHost} errors={fields} hint="Host name or address." />
            <TextField label="Remote volume" name="remoteVolume" value={remoteVolume} onValue={setRemoteVolume} errors={fields} />
            <TextField label="SSH port" name="sshPort" value={sshPort} onValue={setSshPort} errors={fields} hint="Default 22." inputMode="numeric" />
          </div>
          <FormError error={error} fields={fields} />
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Setting up… (up to a minute)' : 'Start replication'}
          </button>
        </form>
      )}
      {admin && (
        <section aria-label="SSH keys" class="inline-form">
          <h2>SSH keys</h2>
          <p class="muted">Gluster needs root of the replicating (primary) appliance to reach root of the remote one once, by ssh key, to install its own restricted keys.</p>
          {keyError ? <Alert>{describe(keyError)}</Alert> : null}
          {ownKey ? (
            <CopyBox label="This appliance's public key" text={ownKey} />
          ) : (
            <button type="button" onClick={() => void showKey()}>
              Show this appliance's key
            </button>
          )}
          <form
            aria-label="Authorize a primary appliance"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              setAuthorized(null);
              void auth.run();
            }}
          >
            <h3>Authorize a primary appliance</h3>
            {authorized !== null && <Alert kind="ok">{authorized ? 'Key authorized: that appliance may now replicate to this one.' : 'That key was authorized already.'}</Alert>}
            <TextArea label="Its public key" name="key" value={remoteKey} onValue={setRemoteKey} errors={auth.fields} hint="As that appliance's Replication page shows it." />
            <FormError error={auth.error} fields={auth.fields} />
            <button type="submit" disabled={auth.busy}>
              Authorize
            </button>
          </form>
        </section>
      )}
      {deleting && (
        <Confirm
          title={`Stop replicating ${deleting.volume} to ${deleting.remoteHost}::${deleting.remoteVolume}?`}
          confirmLabel="Delete"
          danger
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const s = deleting;
            setDeleting(null);
            del(one(s))
              .then(() => (setActionError(null), list.reload()))
              .catch((e: unknown) => setActionError(e));
          }}
        >
          <p>The remote copy stays as it is; changes stop reaching it.</p>
        </Confirm>
      )}
    </>
  );
}

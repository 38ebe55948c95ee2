/** Shares: the list with what to copy to reach each one, and the create/edit form. */
import { useEffect, useState } from 'preact/hooks';
import { del, get, patch, paths, post } from '../api.js';
import type { PageProps } from '../app.js';
import { useLoad, useSubmit } from '../components/hooks.js';
import { Alert, Check, Confirm, CopyBox, Empty, FormError, PageHeader, Problems, Select, TextField, rebase } from '../components/ui.js';
import { describe } from '../lib/errors.js';
import { hostFromLocation, nfsMountCommand, splitList, uncPath } from '../lib/shares.js';
import { listOf, type NfsClient, type Pool, type Settings, type Share } from '../types.js';

export function newClient(match = ''): NfsClient {
  return { match, access: 'rw', squash: 'root_squash', anonUid: 65534, anonGid: 65534, secure: false };
}

/** A share with the API's defaults; protocols off until the form turns them on. */
export function newShare(name: string, pool: string): Share {
  return {
    name,
    pool,
    path: name,
    nfs: { enabled: false, clients: [] },
    smb: {
      enabled: false,
      readOnly: false,
      browseable: true,
      guestOk: false,
      validUsers: [],
      validGroups: [],
      hostsAllow: [],
      recycleBin: false,
      macos: false,
      timeMachine: false,
      encryption: 'desired',
    },
  };
}

/** POST /shares: the whole share (the API fills what is left out). */
function createBody(s: Share) {
  return { name: s.name, pool: s.pool, path: s.path, ...(s.volume ? { volume: s.volume } : {}), nfs: s.nfs, smb: s.smb };
}

/** PATCH /shares/:name: what may change (name and pool stay); nfs.clients is replaced as a whole. */
function patchBody(s: Share) {
  return { path: s.path, nfs: s.nfs, smb: s.smb };
}

function useHostInfo() {
  const { data } = useLoad(async () => get<Settings>(paths.settings).catch(() => null), []);
  return { host: hostFromLocation(location.hostname), nfsPort: data?.nfs?.port };
}

export function exportPath(s: Share): string {
  return typeof s.status?.exportPath === 'string' ? s.status.exportPath : `/${s.name}`;
}

export function Shares({ session }: PageProps) {
  const { data, error, loading, reload } = useLoad(async () => listOf<Share>(await get(paths.shares), 'shares'));
  const { host, nfsPort } = useHostInfo();
  const [deleting, setDeleting] = useState<Share | null>(null);
  const [delError, setDelError] = useState<unknown>(null);
  const admin = session.user.role !== 'read-only';
  return (
    <>
      <PageHeader title="Shares">
        {admin && (
          <a class="button primary" href="#/shares/new">
            New share
          </a>
        )}
      </PageHeader>
      {error ? <Alert>{describe(error)}</Alert> : null}
      {delError ? <Alert>{describe(delError)}</Alert> : null}
      {loading && !data && <p aria-busy="true">Loading shares…</p>}
      {data && data.length === 0 && <Empty>No shares yet. Create one to offer a folder over SMB or NFS.</Empty>}
      {data && data.length > 0 && (
        <ul class="cards" aria-label="Shares">
          {data.map((s) => (
            <li class="card share" key={s.name} data-share={s.name}>
              <div class="card-head">
                <h2>{s.name}</h2>
                <span class="protocols">
                  {s.smb.enabled && <span class="badge proto">SMB</span>}
                  {s.nfs.enabled && <span class="badge proto">NFS</span>}
                  {!s.smb.enabled && !s.nfs.enabled && <span class="badge muted">not shared</span>}
                </span>
              </div>
              <p class="muted">
                Pool {s.pool}, folder {s.path}
                {s.smb.enabled && s.smb.readOnly ? ' · SMB read-only' : ''}
                {s.smb.enabled && s.smb.guestOk ? ' · guests allowed' : ''}
              </p>
              {s.nfs.enabled && (
                <>
                  <CopyBox label={`NFS mount command for ${s.name}`} text={nfsMountCommand(host, exportPath(s), nfsPort ? { port: nfsPort } : {})} />
                  <p class="hint">
                    Clients: {s.nfs.clients.length ? s.nfs.clients.map((c) => `${c.match} (${c.access}, ${c.squash.replace(/_/g, ' ')})`).join(', ') : 'none — nobody can mount it'}
                  </p>
                </>
              )}
              {s.smb.enabled && <CopyBox label={`SMB path for ${s.name}`} text={uncPath(host, s.name)} />}
              <Problems problems={s.problems} />
              {admin && (
                <div class="actions">
                  <a class="button" href={`#/shares/${encodeURIComponent(s.name)}`} aria-label={`Edit ${s.name}`}>
                    Edit
                  </a>
                  <button type="button" class="danger" onClick={() => setDeleting(s)} aria-label={`Delete ${s.name}`}>
                    Delete
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {deleting && (
        <Confirm
          title={`Delete the share ${deleting.name}?`}
          confirmLabel="Delete share"
          danger
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const s = deleting;
            setDeleting(null);
            del(paths.share(s.name))
              .then(() => (setDelError(null), reload()))
              .catch((e: unknown) => setDelError(e));
          }}
        >
          <p>Clients lose access at once. The files stay in the pool (folder {deleting.path}); History can bring the share back.</p>
        </Confirm>
      )}
    </>
  );
}

export function ShareEdit({ params }: PageProps) {
  const editing = params.name;
  const [share, setShare] = useState<Share | null>(editing ? null : newShare('', 'local'));
  const [loadError, setLoadError] = useState<unknown>(null);
  const [pathTouched, setPathTouched] = useState(Boolean(editing));
  const { data: pools } = useLoad(async () => listOf<Pool>(await get(paths.pools), 'pools'));
  const { host, nfsPort } = useHostInfo();
  useEffect(() => {
    if (!editing) return;
    get<Share>(paths.share(editing))
      .then((s) => setShare(s))
      .catch((e: unknown) => setLoadError(e));
  }, [editing]);
  useEffect(() => {
    if (!editing && pools?.length && share && !pools.some((p) => p.id === share.pool)) setShare({ ...share, pool: pools[0]!.id });
  }, [pools]);
  const { busy, error, fields: rawFields, run } = useSubmit(async (s: Share) => {
    if (editing) await patch(paths.share(editing), patchBody(s));
    else await post(paths.shares, createBody(s));
    location.hash = '#/shares';
  });
  const fields = rebase(rawFields, /^shares\.[^.]+\./);
  if (loadError) return (<><PageHeader title="Edit share" /><Alert>{describe(loadError)}</Alert></>);
  if (!share) return <p aria-busy="true">Loading…</p>;
  const set = (p: Partial<Share>) => setShare({ ...share, ...p });
  const setNfs = (p: Partial<Share['nfs']>) => set({ nfs: { ...share.nfs, ...p } });
  const setSmb = (p: Partial<Share['smb']>) => set({ smb: { ...share.smb, ...p } });
  const setClient = (i: number, p: Partial<NfsClient>) => setNfs({ clients: share.nfs.clients.map((c, j) => (j === i ? { ...c, ...p } : c)) });
  const pool = pools?.find((p) => p.id === share.pool);
  return (
    <>
      <PageHeader title={editing ? `Edit share ${editing}` : 'New share'} />
      <form
        class="share-form"
        aria-label={editing ? `Edit share ${editing}` : 'New share'}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run(share);
        }}
      >
        <fieldset>
          <legend>Share</legend>
          <div class="row">
            <TextField
              label="Name"
              name="name"
              value={share.name}
              onValue={(v) => set({ name: v, ...(pathTouched ? {} : { path: v }) })}
              errors={fields}
              readOnly={Boolean(editing)}
              hint={editing ? 'A share keeps its name; create a new one to rename.' : 'What clients see: letters, digits, dot, dash, underscore.'}
            />
            {editing ? (
              <TextField label="Pool" name="pool" value={share.pool} onValue={() => {}} errors={fields} readOnly hint="Moving a share to another pool is not offered." />
            ) : (
              <Select
                label="Pool"
                name="pool"
                value={share.pool}
                onValue={(v) => set({ pool: v })}
                errors={fields}
                options={(pools ?? [{ id: share.pool, kind: 'local' } as Pool]).map((p) => [p.id, `${p.id} (${p.label ?? (p.kind === 'local' ? 'unreplicated' : 'replicated')})`])}
              />
            )}
          </div>
          <TextField
            label="Folder in the pool"
            name="path"
            value={share.path}
            onValue={(v) => (setPathTouched(true), set({ path: v }))}
            errors={fields}
            hint="A relative path; created if missing."
          />
          {pool?.kind === 'local' && <p class="hint">The local pool is unreplicated: a disk failure loses this share's data.</p>}
        </fieldset>

        <fieldset>
          <legend>NFS export</legend>
          <Check label="Export over NFS (v3)" name="nfs.enabled" checked={share.nfs.enabled} onValue={(v) => setNfs({ enabled: v, clients: v && !share.nfs.clients.length ? [newClient('')] : share.nfs.clients })} errors={fields} />
          {share.nfs.enabled && (
            <>
              <table class="clients">
                <caption class="sr-only">Clients allowed to mount</caption>
                <thead>
                  <tr>
                    <th scope="col">Client (address or network)</th>
                    <th scope="col">Access</th>
                    <th scope="col">Root and users</th>
                    <th scope="col">
                      <span class="sr-only">Remove</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {share.nfs.clients.map((c, i) => (
                    <tr key={i}>
                      <td>
                        <TextField label={`Client ${i + 1}`} name={`nfs.clients.${i}.match`} value={c.match} onValue={(v) => setClient(i, { match: v })} errors={fields} placeholder="192.168.1.0/24" spellcheck={false} />
                      </td>
                      <td>
                        <Select label={`Access for client ${i + 1}`} name={`nfs.clients.${i}.access`} value={c.access} onValue={(v) => setClient(i, { access: v })} errors={fields} options={[['rw', 'read-write'], ['ro', 'read-only']]} />
                      </td>
                      <td>
                        <Select
                          label={`Squash for client ${i + 1}`}
                          name={`nfs.clients.${i}.squash`}
                          value={c.squash}
                          onValue={(v) => setClient(i, { squash: v })}
                          errors={fields}
                          options={[['root_squash', 'root becomes nobody'], ['all_squash', 'everyone becomes nobody'], ['no_root_squash', 'root stays root (hypervisors)']]}
                        />
                      </td>
                      <td>
                        <button type="button" class="small" aria-label={`Remove client ${i + 1}`} onClick={() => setNfs({ clients: share.nfs.clients.filter((_, j) => j !== i) })}>
                          Remove
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {fields['nfs.clients']?.length ? <p class="field-error" data-field="nfs.clients">{fields['nfs.clients'].join(' ')}</p> : null}
              <button type="button" class="small" onClick={() => setNfs({ clients: [...share.nfs.clients, newClient('')] })}>
                Add client
              </button>
              {share.name && <CopyBox label="NFS mount command" text={nfsMountCommand(host, exportPath(share), nfsPort ? { port: nfsPort } : {})} />}
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>SMB share</legend>
          <Check label="Share over SMB (Windows, macOS)" name="smb.enabled" checked={share.smb.enabled} onValue={(v) => setSmb({ enabled: v })} errors={fields} />
          {share.smb.enabled && (
            <>
              <div class="row">
                <TextField
                  label="Users allowed"
                  name="smb.validUsers"
                  value={share.smb.validUsers.join(', ')}
                  onValue={(v) => setSmb({ validUsers: splitList(v) })}
                  errors={fields}
                  hint="Comma-separated. Empty: every user."
                />
                <TextField
                  label="Groups allowed"
                  name="smb.validGroups"
                  value={share.smb.validGroups.join(', ')}
                  onValue={(v) => setSmb({ validGroups: splitList(v) })}
                  errors={fields}
                />
              </div>
              <div class="checks">
                <Check label="Read-only" name="smb.readOnly" checked={share.smb.readOnly} onValue={(v) => setSmb({ readOnly: v })} errors={fields} />
                <Check label="Visible when browsing" name="smb.browseable" checked={share.smb.browseable} onValue={(v) => setSmb({ browseable: v })} errors={fields} />
                <Check label="Allow guests (no password)" name="smb.guestOk" checked={share.smb.guestOk} onValue={(v) => setSmb({ guestOk: v })} errors={fields} />
                <Check label="Recycle bin (deleted files go to .recycle)" name="smb.recycleBin" checked={share.smb.recycleBin} onValue={(v) => setSmb({ recycleBin: v })} errors={fields} />
                <Check label="macOS support (Finder metadata)" name="smb.macos" checked={share.smb.macos} onValue={(v) => setSmb({ macos: v, timeMachine: v && share.smb.timeMachine })} errors={fields} />
                {share.smb.macos && <Check label="Time Machine target" name="smb.timeMachine" checked={share.smb.timeMachine} onValue={(v) => setSmb({ timeMachine: v })} errors={fields} />}
              </div>
              <Select
                label="Encryption"
                name="smb.encryption"
                value={share.smb.encryption}
                onValue={(v) => setSmb({ encryption: v })}
                errors={fields}
                options={[['desired', 'when the client can'], ['required', 'required'], ['if_required', 'only if the client asks'], ['off', 'off']]}
              />
              {share.name && <CopyBox label="SMB path" text={uncPath(host, share.name)} />}
            </>
          )}
        </fieldset>
        <FormError error={error} fields={fields} />
        <div class="actions">
          <a class="button" href="#/shares">
            Cancel
          </a>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save changes' : 'Create share'}
          </button>
        </div>
      </form>
    </>
  );
}

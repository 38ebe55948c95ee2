/** API tokens for scripts and cairnctl: create (the secret shows once), list, revoke. */
import { useState } from 'preact/hooks';
import { del, get, paths, post } from '../api.js';
import type { PageProps } from '../app.js';
import { useLoad, useSubmit } from '../components/hooks.js';
import { Alert, Confirm, CopyBox, Empty, FormError, PageHeader, Select, TextField } from '../components/ui.js';
import { describe } from '../lib/errors.js';
import { dateTime } from '../lib/format.js';
import { listOf, type ApiToken, type Role, type TokenCreated } from '../types.js';

export function Tokens({ session }: PageProps) {
  const tokens = useLoad(async () => listOf<ApiToken>(await get(paths.tokens), 'tokens'));
  const [created, setCreated] = useState<TokenCreated | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('read-only');
  const { busy, error, fields, run } = useSubmit(async () => {
    const t = await post<TokenCreated>(paths.tokens, { name, role });
    setCreated(t);
    setName('');
    tokens.reload();
  });
  const admin = session.user.role !== 'read-only';
  const secret = created?.token;
  return (
    <>
      <PageHeader title="API tokens" />
      <p class="muted">
        Tokens let scripts and <code>cairnctl</code> use the API: send <code>Authorization: Bearer TOKEN</code>. A read-only token can also scrape <code>/metrics</code>.
      </p>
      {actionError ? <Alert>{describe(actionError)}</Alert> : null}
      {secret && (
        <Alert kind="ok">
          <p>Token "{created?.info?.name}" created. Copy it now: it is not shown again.</p>
          <CopyBox label="New API token" text={secret} />
        </Alert>
      )}
      {tokens.error ? <Alert>{describe(tokens.error)}</Alert> : null}
      {tokens.data && tokens.data.length === 0 && <Empty>No tokens.</Empty>}
      {tokens.data && tokens.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((t) => (
              <tr key={t.id}>
                <td>{t.name ?? t.id}</td>
                <td>{t.role ?? '—'}</td>
                <td>{dateTime(t.createdAt)}</td>
                <td>{t.lastUsedAt ? dateTime(t.lastUsedAt) : 'never'}</td>
                <td>
                  {admin && (
                    <button type="button" class="small danger" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.name ?? t.id}`}>
                      Revoke
                    </button>
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
          aria-label="New token"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void run();
          }}
        >
          <h2>New token</h2>
          <div class="row">
            <TextField label="Name" name="name" value={name} onValue={setName} errors={fields} hint="What it is for, e.g. monitoring." />
            <Select label="Role" name="role" value={role} onValue={setRole} errors={fields} options={[['read-only', 'read-only'], ['admin', 'administrator']]} />
          </div>
          <FormError error={error} fields={fields} />
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </form>
      )}
      {revoking && (
        <Confirm
          title={`Revoke the token ${revoking.name ?? revoking.id}?`}
          confirmLabel="Revoke"
          danger
          onCancel={() => setRevoking(null)}
          onConfirm={() => {
            const t = revoking;
            setRevoking(null);
            del(paths.token(t.id))
              .then(() => (setActionError(null), tokens.reload()))
              .catch((e: unknown) => setActionError(e));
          }}
        >
          <p>Scripts using it stop working at once.</p>
        </Confirm>
      )}
    </>
  );
}

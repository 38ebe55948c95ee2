/** Users (for SMB and the console) and groups. */
import { useState } from 'preact/hooks';
import { del, get, patch, paths, post } from '../api.js';
import type { PageProps } from '../app.js';
import { useLoad, useSubmit } from '../components/hooks.js';
import { Alert, Badge, Check, Confirm, Empty, FormError, PageHeader, Select, TextField } from '../components/ui.js';
import { describe } from '../lib/errors.js';
import { splitList } from '../lib/shares.js';
import { listOf, type Group, type Role, type User } from '../types.js';

export function Users({ session }: PageProps) {
  const users = useLoad(async () => listOf<User>(await get(paths.users), 'users'));
  const groups = useLoad(async () => listOf<Group>(await get(paths.groups), 'groups'));
  const [deleting, setDeleting] = useState<{ kind: 'user' | 'group'; name: string } | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const admin = session.user.role !== 'read-only';
  return (
    <>
      <PageHeader title="Users and groups" />
      {actionError ? <Alert>{describe(actionError)}</Alert> : null}
      <div class="two-col">
        <section aria-labelledby="users-h">
          <h2 id="users-h">Users</h2>
          {users.error ? <Alert>{describe(users.error)}</Alert> : null}
          {users.data && users.data.length === 0 && <Empty>No users yet.</Empty>}
          {users.data && users.data.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Full name</th>
                  <th scope="col">Role</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.data.map((u) => (
                  <tr key={u.name}>
                    <td>
                      {u.name} {u.enabled === false && <Badge state="disabled" />}
                    </td>
                    <td>{u.fullName || '—'}</td>
                    <td>{u.role ?? 'share access only'}</td>
                    <td class="row-actions">
                      {admin && (
                        <>
                          <button type="button" class="small" aria-expanded={editing === u.name} onClick={() => setEditing(editing === u.name ? null : u.name)} aria-label={`Edit user ${u.name}`}>
                            Edit
                          </button>
                          <button type="button" class="small danger" onClick={() => setDeleting({ kind: 'user', name: u.name })} aria-label={`Delete user ${u.name}`}>
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
          {admin && editing && users.data?.some((u) => u.name === editing) && (
            <EditUser key={editing} user={users.data.find((u) => u.name === editing)!} onDone={() => (setEditing(null), users.reload())} onCancel={() => setEditing(null)} />
          )}
          {admin && <NewUser onDone={users.reload} />}
        </section>
        <section aria-labelledby="groups-h">
          <h2 id="groups-h">Groups</h2>
          {groups.error ? <Alert>{describe(groups.error)}</Alert> : null}
          {groups.data && groups.data.length === 0 && <Empty>No groups yet.</Empty>}
          {groups.data && groups.data.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Members</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {groups.data.map((g) => (
                  <tr key={g.name}>
                    <td>{g.name}</td>
                    <td>{g.members.join(', ') || '—'}</td>
                    <td>
                      {admin && (
                        <button type="button" class="small danger" onClick={() => setDeleting({ kind: 'group', name: g.name })} aria-label={`Delete group ${g.name}`}>
                          Delete
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {admin && <NewGroup onDone={groups.reload} />}
        </section>
      </div>
      {deleting && (
        <Confirm
          title={`Delete the ${deleting.kind} ${deleting.name}?`}
          confirmLabel={`Delete ${deleting.kind}`}
          danger
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const d = deleting;
            setDeleting(null);
            del(d.kind === 'user' ? paths.user(d.name) : paths.group(d.name))
              .then(() => (setActionError(null), d.kind === 'user' ? users.reload() : groups.reload()))
              .catch((e: unknown) => setActionError(e));
          }}
        >
          <p>{deleting.kind === 'user' ? 'They can no longer sign in or reach shares. Their files stay.' : 'Shares that allow this group stop admitting its members.'}</p>
        </Confirm>
      )}
    </>
  );
}

function NewUser({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [fullName, setFullName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<'none' | Role>('none');
  const { busy, error, fields, run } = useSubmit(async () => {
    await post(paths.users, { name, fullName, password, ...(role === 'none' ? {} : { role }) });
    setName('');
    setFullName('');
    setPassword('');
    onDone();
  });
  return (
    <form
      class="inline-form"
      aria-label="New user"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <h3>New user</h3>
      <div class="row">
        <TextField label="User name" name="name" value={name} onValue={setName} errors={fields} autoComplete="off" />
        <TextField label="Full name" name="fullName" value={fullName} onValue={setFullName} errors={fields} />
      </div>
      <div class="row">
        <TextField label="Password" name="password" type="password" value={password} onValue={setPassword} errors={fields} autoComplete="new-password" />
        <Select
          label="Console access"
          name="role"
          value={role}
          onValue={setRole}
          errors={fields}
          options={[
            ['none', 'none (shares only)'],
            ['read-only', 'read-only'],
            ['admin', 'administrator'],
          ]}
        />
      </div>
      <FormError error={error} fields={fields} />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add user'}
      </button>
    </form>
  );
}

/** PATCH /users/:name: full name, console role, a new password, enabled. */
function EditUser({ user, onDone, onCancel }: { user: User; onDone: () => void; onCancel: () => void }) {
  const [fullName, setFullName] = useState(user.fullName ?? '');
  const [role, setRole] = useState<'none' | Role>(user.role ?? 'none');
  const [password, setPassword] = useState('');
  const [enabled, setEnabled] = useState(user.enabled !== false);
  const { busy, error, fields, run } = useSubmit(async () => {
    await patch(paths.user(user.name), { fullName, role: role === 'none' ? null : role, enabled, ...(password ? { password } : {}) });
    onDone();
  });
  return (
    <form
      class="inline-form"
      aria-label={`Edit user ${user.name}`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <h3>Edit {user.name}</h3>
      <div class="row">
        <TextField label="Full name" name="fullName" value={fullName} onValue={setFullName} errors={fields} />
        <Select
          label="Console access"
          name="role"
          value={role}
          onValue={setRole}
          errors={fields}
          options={[
            ['none', 'none (shares only)'],
            ['read-only', 'read-only'],
            ['admin', 'administrator'],
          ]}
        />
      </div>
      <TextField label="New password" name="password" type="password" value={password} onValue={setPassword} errors={fields} autoComplete="new-password" hint="Leave empty to keep the current one." />
      <Check label="Enabled (can sign in and use shares)" name="enabled" checked={enabled} onValue={setEnabled} errors={fields} />
      <FormError error={error} fields={fields} />
      <div class="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save user'}
        </button>
      </div>
    </form>
  );
}

function NewGroup({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [members, setMembers] = useState('');
  const { busy, error, fields, run } = useSubmit(async () => {
    await post(paths.groups, { name, members: splitList(members) });
    setName('');
    setMembers('');
    onDone();
  });
  return (
    <form
      class="inline-form"
      aria-label="New group"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <h3>New group</h3>
      <TextField label="Group name" name="name" value={name} onValue={setName} errors={fields} autoComplete="off" />
      <TextField label="Members" name="members" value={members} onValue={setMembers} errors={fields} hint="User names, separated by commas." />
      <FormError error={error} fields={fields} />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add group'}
      </button>
    </form>
  );
}

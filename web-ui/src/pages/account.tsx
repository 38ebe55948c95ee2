/** The signed-in user's own account: change the password (any role). */
import { useState } from 'preact/hooks';
import { paths, post, setCsrfToken } from '../api.js';
import type { PageProps } from '../app.js';
import { useSubmit } from '../components/hooks.js';
import { Alert, FormError, PageHeader, TextField } from '../components/ui.js';
import type { Session } from '../types.js';

export function Account({ session }: PageProps) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, fields, run, setFields } = useSubmit(async () => {
    setDone(false);
    if (next !== again) {
      setFields({ newPasswordAgain: ['The two passwords differ.'] });
      throw new Error('The two new passwords differ');
    }
    // A wrong current password is a 401 with a field error, not the end of the session.
    const s = await post<Session>(paths.myPassword, { currentPassword: current, newPassword: next }, { quiet401: true });
    setCsrfToken(s?.csrfToken);
    setCurrent('');
    setNext('');
    setAgain('');
    setDone(true);
  });
  return (
    <>
      <PageHeader title="Your account" />
      <p class="muted">
        Signed in as <strong>{session.user.name}</strong> ({session.user.role}).
      </p>
      <form
        aria-label="Change your password"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <fieldset>
          <legend>Change your password</legend>
          <TextField label="Current password" name="currentPassword" type="password" value={current} onValue={setCurrent} errors={fields} autoComplete="current-password" />
          <TextField label="New password" name="newPassword" type="password" value={next} onValue={setNext} errors={fields} autoComplete="new-password" />
          <TextField label="New password again" name="newPasswordAgain" type="password" value={again} onValue={setAgain} errors={fields} autoComplete="new-password" />
        </fieldset>
        <FormError error={error} fields={fields} />
        {done && <Alert kind="ok">Password changed. Your other sessions have been signed out.</Alert>}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </form>
    </>
  );
}

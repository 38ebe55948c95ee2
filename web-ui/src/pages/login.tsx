import { useState } from 'preact/hooks';
import { paths, post, setCsrfToken } from '../api.js';
import { useSubmit } from '../components/hooks.js';
import { Alert, FormError, TextField } from '../components/ui.js';
import type { Session } from '../types.js';

export function Login({ reason, onDone }: { reason?: string | undefined; onDone: () => void }) {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const { busy, error, fields, run } = useSubmit(async () => {
    const s = await post<Session>(paths.sessions, { username, password }, { quiet401: true });
    setCsrfToken(s?.csrfToken);
    onDone();
  });
  return (
    <main class="narrow login">
      <h1>Sign in to Cairn</h1>
      {reason && <Alert kind="info">{reason}</Alert>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
        aria-label="Sign in"
        noValidate
      >
        <TextField label="User name" name="username" value={username} onValue={setUsername} errors={fields} autoComplete="username" required />
        <TextField label="Password" name="password" type="password" value={password} onValue={setPassword} errors={fields} autoComplete="current-password" required autoFocus />
        <FormError error={error} />
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

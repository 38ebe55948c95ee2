/** Appliance settings: name, time zone, SMB workgroup, NFS port. */
import { useEffect, useState } from 'preact/hooks';
import { get, patch, paths } from '../api.js';
import type { PageProps } from '../app.js';
import { useSubmit } from '../components/hooks.js';
import { Alert, FormError, PageHeader, TextField } from '../components/ui.js';
import { describe } from '../lib/errors.js';
import type { Settings } from '../types.js';

export function SettingsPage({ session }: PageProps) {
  const [s, setS] = useState<Settings | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    get<Settings>(paths.settings)
      .then(setS)
      .catch((e: unknown) => setLoadError(e));
  }, []);
  const { busy, error, fields, run } = useSubmit(async (v: Settings) => {
    setSaved(false);
    const next = await patch<Settings | undefined>(paths.settings, v);
    if (next && typeof next === 'object' && 'applianceName' in next) setS(next);
    setSaved(true);
  });
  const admin = session.user.role !== 'read-only';
  return (
    <>
      <PageHeader title="Settings" />
      {loadError ? <Alert>{describe(loadError)}</Alert> : null}
      {s && (
        <form
          aria-label="Settings"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void run(s);
          }}
        >
          <fieldset disabled={!admin}>
            <legend>Appliance</legend>
            <TextField label="Appliance name" name="applianceName" value={s.applianceName} onValue={(v) => setS({ ...s, applianceName: v })} errors={fields} hint="Host and NetBIOS name." />
            <TextField label="Time zone" name="timezone" value={s.timezone} onValue={(v) => setS({ ...s, timezone: v })} errors={fields} hint="IANA name, e.g. Europe/Berlin." />
          </fieldset>
          <fieldset disabled={!admin}>
            <legend>Protocols</legend>
            <TextField label="SMB workgroup" name="smb.workgroup" value={s.smb.workgroup} onValue={(v) => setS({ ...s, smb: { ...s.smb, workgroup: v } })} errors={fields} />
            <TextField
              label="NFS port"
              name="nfs.port"
              type="number"
              inputMode="numeric"
              value={s.nfs.port}
              onValue={(v) => setS({ ...s, nfs: { ...s.nfs, port: v === '' ? Number.NaN : Number(v) } })}
              errors={fields}
              hint="NFS and MOUNT share this port; clients expect 2049."
            />
          </fieldset>
          <FormError error={error} fields={fields} />
          {saved && !error && <Alert kind="ok">Saved.</Alert>}
          {admin && (
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save settings'}
            </button>
          )}
        </form>
      )}
    </>
  );
}

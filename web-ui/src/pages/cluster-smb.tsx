/**
 * The Cluster page's "Clustered SMB" section: CTDB and clustered Samba on
 * every appliance, the lock on the cluster's shared state volume. Shows
 * whether it is on, CTDB's nodes with their health, each public address
 * and the appliance that holds it now, and the lock volume (GET
 * /cluster/smb, every 5 s: addresses move within seconds of a failure).
 * Admins turn it on with a NetBIOS name and public addresses (checked
 * beside the field before sending; the API's errors beside the field they
 * concern), change it, and turn it off after a confirmation.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, paths, put } from '../api.js';
import { useLoad, useSubmit } from '../components/hooks.js';
import { Alert, Badge, Confirm, FormError, TextArea, TextField, type FieldErrors } from '../components/ui.js';
import { addressLines, clusterSmbFieldErrors, ctdbNodeHealth, formatPublicAddresses, lockLine, netbiosNameError, parsePublicAddresses } from '../lib/cluster-smb.js';
import { ApiError, describe } from '../lib/errors.js';
import type { ClusterSmb } from '../types.js';

export function ClusteredSmb({ admin, members }: { admin: boolean; members: number }) {
  const smb = useLoad((signal) => get<ClusterSmb>(paths.clusterSmb, { signal }), [], 5000);
  const [confirmOff, setConfirmOff] = useState(false);
  const [notice, setNotice] = useState('');
  const s = smb.data;
  const off = useSubmit(async () => {
    if (!s) return;
    const r = await put<ClusterSmb>(paths.clusterSmb, { enabled: false, netbiosName: s.netbiosName, publicAddresses: s.publicAddresses });
    smb.setData({ ...r, runtime: s.runtime });
    setNotice('Clustered SMB is turned off: every appliance serves SMB on its own address again.');
    smb.reload();
  });
  const rt = s?.runtime;
  const lock = rt ? lockLine(rt.lock) : null;
  return (
    <section aria-labelledby="smb-h" data-testid="cluster-smb">
      <h2 id="smb-h">Clustered SMB</h2>
      {smb.error && !s ? <Alert>Clustered SMB cannot be shown: {describe(smb.error)}</Alert> : null}
      {smb.error && s ? <Alert kind="warn">The clustered SMB view may be out of date: {describe(smb.error)}</Alert> : null}
      {notice && <Alert kind="ok">{notice}</Alert>}
      {off.error ? <Alert>{describe(off.error)}</Alert> : null}
      {s && (
        <div class="card" data-testid="cluster-smb-state">
          <p>
            <Badge state={s.enabled ? 'on' : 'off'} />{' '}
            {s.enabled ? (
              <>
                Clustered SMB is <strong>on</strong> as <code>{s.netbiosName}</code>: clients connect to a public address below, and CTDB moves it to another appliance when
                one fails.
              </>
            ) : (
              <>
                Clustered SMB is <strong>off</strong>: each appliance serves SMB on its own address.
              </>
            )}
          </p>
          {s.enabled && members < 2 && <p class="muted">It starts once the cluster has a second appliance.</p>}
          {s.enabled && rt?.ctdb === 'stopped' && members >= 2 && <p class="muted">CTDB is not running on this appliance yet (it starts once the lock volume is mounted).</p>}
          {rt?.error && <Alert kind="warn">CTDB does not answer on this appliance: {rt.error}</Alert>}
          {lock && s.enabled && <p class={lock.warn ? '' : 'muted'} data-testid="cluster-smb-lock">{lock.text}</p>}
        </div>
      )}
      {s && rt && rt.nodes.length > 0 && (
        <table data-testid="ctdb-nodes">
          <caption class="sr-only">CTDB nodes</caption>
          <thead>
            <tr>
              <th scope="col">PNN</th>
              <th scope="col">Appliance</th>
              <th scope="col">CTDB health</th>
            </tr>
          </thead>
          <tbody>
            {rt.nodes.map((n) => {
              const h = ctdbNodeHealth(n.health);
              return (
                <tr key={n.pnn} data-pnn={n.pnn}>
                  <td>{n.pnn}</td>
                  <td>
                    <strong>{n.hostname ?? n.address}</strong> <span class="muted">{n.address}</span>
                    {n.thisNode && <span class="muted"> (this one)</span>}
                    {rt.leader === n.pnn && <span class="muted"> · leader</span>}
                  </td>
                  <td>
                    <Badge state={h.badge} /> <span class="muted">{h.text}</span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {s && s.enabled && rt && (
        <table data-testid="smb-public-addresses">
          <caption class="sr-only">Public addresses</caption>
          <thead>
            <tr>
              <th scope="col">Public address</th>
              <th scope="col">Held by</th>
            </tr>
          </thead>
          <tbody>
            {rt.publicAddresses.map((a) => (
              <tr key={a.address} data-address={a.address}>
                <td>
                  <code>
                    {a.address}/{a.prefix}
                  </code>
                </td>
                <td>
                  {a.hostname ? (
                    <>
                      {a.hostname}
                      {a.interface && <span class="muted"> on {a.interface}</span>}
                    </>
                  ) : (
                    <span class="muted">{rt.ctdb === 'running' ? 'nobody yet' : 'unknown (CTDB not running here)'}</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && s && (
        <SmbSettings
          current={s}
          onSaved={(r, on) => {
            smb.setData({ ...r, runtime: s.runtime });
            setNotice(on ? 'Clustered SMB settings saved: every appliance applies them in a few seconds.' : '');
            smb.reload();
          }}
          onTurnOff={() => (setNotice(''), setConfirmOff(true))}
          busyOff={off.busy}
        />
      )}
      {confirmOff && s && (
        <Confirm
          title="Turn off clustered SMB?"
          confirmLabel="Turn off"
          danger
          onCancel={() => setConfirmOff(false)}
          onConfirm={() => {
            setConfirmOff(false);
            void off.run();
          }}
        >
          <p>
            CTDB stops on every appliance and the public address{s.publicAddresses.length === 1 ? '' : 'es'}{' '}
            {s.publicAddresses.map((a) => a.address).join(', ')} go{s.publicAddresses.length === 1 ? 'es' : ''} away: SMB clients connected through {s.publicAddresses.length === 1 ? 'it' : 'them'}{' '}
            lose their connection and must reconnect to an appliance's own address. The addresses are kept for turning it on again.
          </p>
        </Confirm>
      )}
    </section>
  );
}

function SmbSettings({ current, onSaved, onTurnOff, busyOff }: { current: ClusterSmb; onSaved: (r: ClusterSmb, on: boolean) => void; onTurnOff: () => void; busyOff: boolean }) {
  const [name, setName] = useState(current.netbiosName);
  const [text, setText] = useState(formatPublicAddresses(current.publicAddresses));
  const [edited, setEdited] = useState(false);
  const [fields, setFields] = useState<FieldErrors>({});
  // Polls refresh the settings shown until the admin starts typing.
  useEffect(() => {
    if (edited) return;
    setName(current.netbiosName);
    setText(formatPublicAddresses(current.publicAddresses));
  }, [current.netbiosName, formatPublicAddresses(current.publicAddresses), edited]);
  const { busy, error, run } = useSubmit(async () => {
    const local: FieldErrors = {};
    const nameErr = netbiosNameError(name);
    if (nameErr) local.netbiosName = [nameErr];
    const parsed = parsePublicAddresses(text);
    if (parsed.errors.length) local.publicAddresses = parsed.errors;
    setFields(local);
    if (Object.keys(local).length) {
      setTimeout(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0);
      return;
    }
    try {
      const r = await put<ClusterSmb>(paths.clusterSmb, { enabled: true, netbiosName: name.trim(), publicAddresses: parsed.addresses });
      setEdited(false);
      onSaved(r, true);
    } catch (e) {
      if (e instanceof ApiError) setFields(clusterSmbFieldErrors(e, addressLines(text)));
      throw e;
    }
  });
  const edit = (f: (v: string) => void) => (v: string) => (setEdited(true), f(v));
  return (
    <form
      class="card"
      aria-label="Clustered SMB settings"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <p class="hint">
        Every appliance of the cluster runs CTDB and Samba with these settings. Give the addresses clients will use (one a line, free addresses of the appliances' network, not an
        appliance's own), with the network interface they go on — the same name on every appliance.
      </p>
      <TextField label="NetBIOS name of the cluster" name="netbiosName" value={name} onValue={edit(setName)} errors={fields} autoComplete="off" spellcheck={false} />
      <TextArea
        label="Public addresses"
        name="publicAddresses"
        value={text}
        onValue={edit(setText)}
        errors={fields}
        rows={Math.max(3, current.publicAddresses.length + 1)}
        hint={
          <>
            One a line as <code>ADDRESS/PREFIX@INTERFACE</code>, e.g. <code>192.168.1.50/24@eth0</code>.
          </>
        }
      />
      {/* Errors beside their fields are read out there (focus moves to them); others show here. */}
      {Object.keys(fields).length === 0 && <FormError error={error} />}
      <div class="actions">
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Saving…' : current.enabled ? 'Save clustered SMB settings' : 'Turn on clustered SMB'}
        </button>
        {current.enabled && (
          <button type="button" class="danger" onClick={onTurnOff} disabled={busyOff}>
            {busyOff ? 'Turning off…' : 'Turn off clustered SMB'}
          </button>
        )}
      </div>
    </form>
  );
}

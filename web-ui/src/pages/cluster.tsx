/**
 * Cluster: this appliance and the others in its Gluster trusted pool, with
 * health and bricks; a join token shown here so that an appliance already
 * in a cluster can add this one; adding an appliance by address and the
 * token it shows; removing one after a confirmation (a task that moves its
 * bricks first, when it holds any). Whether this appliance reaches a
 * majority and how the shared configuration stands. When the cluster
 * API cannot answer (no glusterd, no cluster support) the page says so in
 * a sentence and offers nothing that would fail. Clustered SMB (CTDB)
 * has its own section (cluster-smb.tsx).
 */
import { useEffect, useState } from 'preact/hooks';
import { del, get, paths, post } from '../api.js';
import type { PageProps } from '../app.js';
import { useLoad, useSubmit } from '../components/hooks.js';
import { Alert, Badge, Confirm, CopyBox, Empty, FormError, PageHeader, TextField } from '../components/ui.js';
import { TaskProgress, taskIdOf } from '../components/task.js';
import { ClusteredSmb } from './cluster-smb.js';
import { addMemberFieldErrors, clusterUnavailable, memberHealth, sharedStateLine, tokenValidity } from '../lib/cluster.js';
import { ApiError, describe } from '../lib/errors.js';
import { dateTime } from '../lib/format.js';
import { taskFailed, type ClusterMember, type ClusterView, type JoinToken } from '../types.js';

export function Cluster({ session }: PageProps) {
  const cluster = useLoad((signal) => get<ClusterView>(paths.cluster, { signal }), [], 10000);
  const admin = session.user.role !== 'read-only';
  const [removing, setRemoving] = useState<ClusterMember | null>(null);
  const [notice, setNotice] = useState('');
  const [moving, setMoving] = useState<{ id: string; name: string } | null>(null);
  // Without bricks the appliance goes at once (204); with bricks a task moves them first (202).
  const remove = useSubmit(async (name: string) => {
    const res = await del<unknown>(paths.clusterMember(name));
    const id = taskIdOf(res);
    if (id) setMoving({ id, name });
    else setNotice(`${name} was removed from the cluster.`);
    cluster.reload();
  });
  const down = cluster.error instanceof ApiError ? clusterUnavailable(cluster.error) : null;
  const c = cluster.data;
  const shared = sharedStateLine(c?.sharedState, dateTime);
  return (
    <>
      <PageHeader title="Cluster" />
      {cluster.error && !c ? down ? <Alert kind="info">{down}</Alert> : <Alert>The cluster cannot be shown: {describe(cluster.error)}</Alert> : null}
      {cluster.error && c ? <Alert kind="warn">The cluster view may be out of date: {describe(cluster.error)}</Alert> : null}
      {!c && !cluster.error && (
        <p class="muted" aria-busy="true">
          Asking Gluster…
        </p>
      )}
      {c && (
        <section class="card" aria-labelledby="cluster-self">
          <h2 id="cluster-self">This appliance: {c.hostname}</h2>
          {c.clusterId ? (
            <p>
              Member of cluster <code>{c.clusterId}</code>
              {c.joinedAt ? ` since ${dateTime(c.joinedAt)}` : ''}.
            </p>
          ) : (
            <p class="muted">Not in a cluster yet. Add another appliance below, or show a join token here and add this appliance from one already in a cluster.</p>
          )}
        </section>
      )}
      {c && c.quorum === false && (
        <Alert kind="warn">
          This appliance does not reach a majority of the cluster: changes to shares, users and other cluster-wide settings are refused here until it does. Make them on an appliance that
          reaches the others.
        </Alert>
      )}
      {c && shared && <Alert kind={shared.tone}>{shared.text}</Alert>}
      {moving && (
        <TaskProgress
          key={moving.id}
          id={moving.id}
          title={`Moving the bricks of ${moving.name}, then removing it`}
          onDone={(t) => {
            if (!taskFailed(t)) setNotice(`${moving.name} was removed from the cluster.`);
            cluster.reload();
          }}
        />
      )}
      {notice && <Alert kind="ok">{notice}</Alert>}
      {remove.error ? <Alert>{describe(remove.error)}</Alert> : null}
      {c && (
        <section aria-labelledby="members-h">
          <h2 id="members-h">Appliances</h2>
          {c.members.length === 0 ? (
            <Empty>Gluster lists no appliances.</Empty>
          ) : (
            <table>
              <caption class="sr-only">Appliances of the cluster</caption>
              <thead>
                <tr>
                  <th scope="col">Appliance</th>
                  <th scope="col">Health</th>
                  <th scope="col">Bricks</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...c.members].sort((x, y) => Number(y.self) - Number(x.self) || x.hostname.localeCompare(y.hostname)).map((m) => {
                  const h = memberHealth(m);
                  return (
                    <tr key={m.uuid || m.hostname} data-member={m.hostname}>
                      <td>
                        <strong>{m.hostname}</strong>
                        {m.self && <span class="muted"> (this one)</span>}
                      </td>
                      <td>
                        <Badge state={h.badge} /> <span class="muted">{h.text}</span>
                      </td>
                      <td>
                        {m.bricks.length === 0 ? (
                          <span class="muted">none</span>
                        ) : (
                          <details>
                            <summary>
                              {m.bricks.length} brick{m.bricks.length === 1 ? '' : 's'}
                            </summary>
                            <ul class="plain">
                              {m.bricks.map((b) => (
                                <li key={b}>
                                  <code>{b}</code>
                                </li>
                              ))}
                            </ul>
                          </details>
                        )}
                      </td>
                      <td>
                        {admin && !m.self && (
                          <button type="button" class="small danger" onClick={() => (setNotice(''), setRemoving(m))} aria-label={`Remove appliance ${m.hostname}`}>
                            Remove
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </section>
      )}
      {removing && (
        <Confirm
          title={`Remove ${removing.hostname}?`}
          confirmLabel="Remove"
          danger
          onCancel={() => setRemoving(null)}
          onConfirm={() => {
            const name = removing.hostname;
            setRemoving(null);
            void remove.run(name);
          }}
        >
          <p>
            {removing.hostname} leaves the cluster and stops serving its shares.
            {removing.bricks.length
              ? ` Its ${removing.bricks.length} brick${removing.bricks.length === 1 ? '' : 's'} are first moved to the other appliances (the data is copied, which takes a while); if a brick has nowhere to go without losing a copy, nothing is changed.`
              : ' It holds no bricks, so it goes at once.'}
          </p>
        </Confirm>
      )}
      {c && <ClusteredSmb admin={admin} members={c.members.length} />}
      {admin && c && <AddAppliance onAdded={(name) => (setNotice(`${name} joined the cluster.`), cluster.reload())} />}
      {admin && c && <ShowJoinToken hostname={c.hostname} />}
    </>
  );
}

function AddAppliance({ onAdded }: { onAdded: (name: string) => void }) {
  const [address, setAddress] = useState('');
  const [token, setToken] = useState('');
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const { busy, error, run } = useSubmit(async () => {
    setFields({});
    try {
      const m = await post<ClusterMember>(paths.clusterMembers, { address: address.trim(), token: token.trim() });
      setToken('');
      setAddress('');
      onAdded(m.hostname);
    } catch (e) {
      if (e instanceof ApiError) setFields(addMemberFieldErrors(e));
      throw e;
    }
  });
  return (
    <section aria-labelledby="add-h">
      <h2 id="add-h">Add an appliance</h2>
      <form
        class="card"
        aria-label="Add an appliance"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <p class="hint">On the new appliance, open its console's Cluster page and show a join token; then type its address and that token here.</p>
        <TextField label="Address of the new appliance" name="address" value={address} onValue={setAddress} errors={fields} placeholder="nas2.example.lan or 192.168.1.12:8080" autoComplete="off" spellcheck={false} />
        <TextField label="Join token shown on it" name="token" value={token} onValue={setToken} errors={fields} autoComplete="off" spellcheck={false} />
        {/* An error shown beside its field is read out there (focus moves to it); others show here. */}
        {Object.keys(fields).length === 0 && <FormError error={error} />}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Adding… (up to half a minute)' : 'Add the appliance'}
        </button>
      </form>
    </section>
  );
}

function ShowJoinToken({ hostname }: { hostname: string }) {
  const [token, setToken] = useState<JoinToken | null>(null);
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!token) return;
    const t = setInterval(() => setTick((n) => n + 1), 15_000);
    return () => clearInterval(t);
  }, [token]);
  const { busy, error, run } = useSubmit(async () => setToken(await post<JoinToken>(paths.clusterJoinToken)));
  return (
    <section aria-labelledby="token-h">
      <h2 id="token-h">Be added to a cluster</h2>
      <div class="card">
        <p class="hint">Show a join token, then type this appliance's address and the token into the console of an appliance already in the cluster. A token works once.</p>
        {token && (
          <div role="status">
            <CopyBox label="Join token" text={token.token} />
            {token.clusterPort !== undefined && token.clusterPort !== 8443 && (
              <p class="hint" data-testid="join-address">
                Appliances reach this one on port {token.clusterPort} (not the usual 8443): type its address as <code>{`${hostname}:${token.clusterPort}`}</code> (or its IP address with <code>:{token.clusterPort}</code>).
              </p>
            )}
            <p class="hint" data-testid="token-validity">
              This token is {tokenValidity(token.expiresAt)}.
            </p>
          </div>
        )}
        <FormError error={error} />
        <button type="button" onClick={() => void run()} disabled={busy}>
          {token ? 'Show a new join token' : 'Show a join token'}
        </button>
      </div>
    </section>
  );
}

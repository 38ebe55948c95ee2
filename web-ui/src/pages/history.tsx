/** History: every accepted change to the state, with its diff, and rollback. */
import { useState } from 'preact/hooks';
import { get, paths, post } from '../api.js';
import type { PageProps } from '../app.js';
import { useLoad } from '../components/hooks.js';
import { Alert, Confirm, Empty, PageHeader } from '../components/ui.js';
import { expand, fromJsonPatch, nameIndexes, preview, summarize, type Change } from '../lib/diff.js';
import { describe } from '../lib/errors.js';
import { dateTime } from '../lib/format.js';
import { listOf, revNumber, type Revision } from '../types.js';

export function History({ session }: PageProps) {
  const revs = useLoad(async () => listOf<Revision>(await get(paths.history), 'revisions'));
  // Older pages (the API answers 50 at a time, newest first; `before` pages back).
  const [older, setOlder] = useState<Revision[]>([]);
  const [olderBusy, setOlderBusy] = useState(false);
  const [olderDone, setOlderDone] = useState(false);
  const [open, setOpen] = useState<number | null>(null);
  const [rollingBack, setRollingBack] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const admin = session.user.role !== 'read-only';
  const byNumber = new Map<number, Revision>();
  for (const r of [...(revs.data ?? []), ...older]) byNumber.set(revNumber(r) ?? 0, r);
  const sorted = [...byNumber.values()].sort((a, b) => (revNumber(b) ?? 0) - (revNumber(a) ?? 0));
  const oldest = revNumber(sorted[sorted.length - 1] ?? {});
  const loadOlder = () => {
    if (!oldest) return;
    setOlderBusy(true);
    get<unknown>(`${paths.history}?before=${oldest}`)
      .then((v) => {
        const more = listOf<Revision>(v, 'revisions');
        if (more.length === 0) setOlderDone(true);
        setOlder((o) => [...o, ...more]);
      })
      .catch((e: unknown) => setMessage({ kind: 'error', text: describe(e) }))
      .finally(() => setOlderBusy(false));
  };
  const latest = revNumber(sorted[0] ?? {});
  return (
    <>
      <PageHeader title="History" />
      <p class="muted">Every change is a numbered revision. Rolling back makes a new revision equal to an earlier one; nothing is lost.</p>
      {message && <Alert kind={message.kind}>{message.text}</Alert>}
      {revs.error ? <Alert>{describe(revs.error)}</Alert> : null}
      {revs.data && revs.data.length === 0 && <Empty>No changes yet.</Empty>}
      <ol class="revisions" aria-label="Revisions">
        {sorted.map((r) => {
          const n = revNumber(r);
          return (
            <li key={n} class="card revision" data-revision={n}>
              <div class="card-head">
                <h2>
                  Revision {n}
                  {n === latest && <span class="badge ok">current</span>}
                </h2>
                <span class="muted">
                  {dateTime(r.at ?? r.time ?? r.createdAt)} · {r.who ?? r.by ?? r.actor ?? r.user ?? 'system'}
                </span>
              </div>
              {(r.summary ?? r.reason ?? r.message) && <p>{r.summary ?? r.reason ?? r.message}</p>}
              <div class="actions">
                <button type="button" class="small" aria-expanded={open === n} onClick={() => setOpen(open === n ? null : (n ?? null))}>
                  {open === n ? 'Hide changes' : 'Show changes'}
                </button>
                {admin && n !== latest && n !== undefined && (
                  <button type="button" class="small danger" disabled={busy} onClick={() => setRollingBack(n)} aria-label={`Roll back to revision ${n}`}>
                    Roll back to this
                  </button>
                )}
              </div>
              {open === n && n !== undefined && <RevisionDiff rev={r} n={n} />}
            </li>
          );
        })}
      </ol>
      {oldest !== undefined && oldest > 1 && !olderDone && (
        <button type="button" onClick={loadOlder} disabled={olderBusy}>
          {olderBusy ? 'Loading…' : 'Show older revisions'}
        </button>
      )}
      {rollingBack !== null && (
        <Confirm
          title={`Roll back to revision ${rollingBack}?`}
          confirmLabel="Roll back"
          danger
          onCancel={() => setRollingBack(null)}
          onConfirm={() => {
            const n = rollingBack;
            setRollingBack(null);
            setBusy(true);
            post(paths.rollback, { revision: n })
              .then(() => {
                setMessage({ kind: 'ok', text: `Rolled back to revision ${n}.` });
                setOlder([]);
                setOlderDone(false);
                revs.reload();
              })
              .catch((e: unknown) => setMessage({ kind: 'error', text: describe(e) }))
              .finally(() => setBusy(false));
          }}
        >
          <p>Shares, users and settings return to how they were in revision {rollingBack}. The appliance then applies that state.</p>
        </Confirm>
      )}
    </>
  );
}

/**
 * The revision's changes, one row per field. Array indexes in paths are
 * replaced by the element's name, read from the revision's document (or
 * the one before it, for what was removed).
 */
function RevisionDiff({ rev, n }: { rev: Revision; n: number }) {
  const detail = useLoad(async () => {
    const cur = await get<Revision>(paths.revision(n)).catch(() => rev);
    const ops = cur.diff ?? rev.diff ?? [];
    const prev = n > 1 && ops.some((o) => o.op !== 'add') ? await get<Revision>(paths.revision(n - 1)).catch(() => undefined) : undefined;
    const changes = expand(fromJsonPatch(ops)).map((c) => ({ ...c, path: nameIndexes(c.path, c.op === 'add' ? cur.state : (prev?.state ?? cur.state)) }));
    return changes;
  }, [n]);
  if (detail.error) return <Alert>{describe(detail.error)}</Alert>;
  if (!detail.data) return <p aria-busy="true">Loading changes…</p>;
  return <DiffTable changes={detail.data} />;
}

export function DiffTable({ changes }: { changes: Change[] }) {
  if (!changes.length) return <p class="muted">No changes in this revision.</p>;
  const c = summarize(changes);
  return (
    <>
      <p class="muted">
        Fields: {c.add} added, {c.replace} changed, {c.remove} removed
      </p>
      <table class="diff">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((ch, i) => (
            <tr key={i} class={`op-${ch.op}`}>
              <td>
                <span class="sr-only">{ch.op === 'add' ? 'added' : ch.op === 'remove' ? 'removed' : 'changed'}: </span>
                <code>{ch.path || '(everything)'}</code>
              </td>
              <td class="before">{ch.op === 'add' ? '' : <code>{preview(ch.before, ch.path)}</code>}</td>
              <td class="after">{ch.op === 'remove' ? '' : <code>{preview(ch.after, ch.path)}</code>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Small building blocks every page uses: fields with their errors, alerts, progress, copy boxes. */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, describe } from '../lib/errors.js';

export type FieldErrors = Record<string, string[]>;

interface FieldProps {
  label: string;
  /** Dotted path of the value in the request body: errors for it show here. */
  name: string;
  errors?: FieldErrors;
  hint?: ComponentChildren;
  children: (p: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string; name: string }) => ComponentChildren;
}

/** A label, the control, its hint and its errors, wired for screen readers. */
export function Field({ label, name, errors, hint, children }: FieldProps) {
  const id = useId();
  const errs = errors?.[name] ?? [];
  const described = [hint ? `${id}-hint` : '', errs.length ? `${id}-err` : ''].filter(Boolean).join(' ');
  return (
    <div class={`field${errs.length ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children({ id, name, 'aria-invalid': errs.length > 0, ...(described ? { 'aria-describedby': described } : {}) })}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {errs.length > 0 && (
        <p class="field-error" id={`${id}-err`} data-field={name}>
          {errs.join(' ')}
        </p>
      )}
    </div>
  );
}

type InputProps = {
  type?: 'text' | 'password' | 'number' | 'search';
  autoComplete?: string;
  placeholder?: string;
  readOnly?: boolean;
  required?: boolean;
  autoFocus?: boolean;
  spellcheck?: boolean;
  inputMode?: 'numeric' | 'text';

  label: string;
  name: string;
  value: string | number;
  onValue: (v: string) => void;
  errors?: FieldErrors;
  hint?: ComponentChildren;
};

export function TextField({ label, name, value, onValue, errors, hint, ...rest }: InputProps) {
  return (
    <Field label={label} name={name} errors={errors} hint={hint}>
      {(p) => <input {...(rest as Record<string, unknown>)} {...p} value={value} onInput={(e) => onValue((e.target as HTMLInputElement).value)} />}
    </Field>
  );
}

export function TextArea({
  label,
  name,
  value,
  onValue,
  errors,
  hint,
  rows = 3,
}: {
  label: string;
  name: string;
  value: string;
  onValue: (v: string) => void;
  errors?: FieldErrors;
  hint?: ComponentChildren;
  rows?: number;
}) {
  return (
    <Field label={label} name={name} errors={errors} hint={hint}>
      {(p) => <textarea {...p} rows={rows} value={value} onInput={(e) => onValue((e.target as HTMLTextAreaElement).value)} />}
    </Field>
  );
}

export function Select<T extends string>({
  label,
  name,
  value,
  onValue,
  options,
  errors,
  hint,
}: {
  label: string;
  name: string;
  value: T;
  onValue: (v: T) => void;
  options: Array<[T, string]>;
  errors?: FieldErrors;
  hint?: ComponentChildren;
}) {
  return (
    <Field label={label} name={name} errors={errors} hint={hint}>
      {(p) => (
        <select {...p} value={value} onChange={(e) => onValue((e.target as HTMLSelectElement).value as T)}>
          {options.map(([v, text]) => (
            <option value={v} key={v}>
              {text}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function Check({ label, name, checked, onValue, errors, hint }: { label: string; name: string; checked: boolean; onValue: (v: boolean) => void; errors?: FieldErrors; hint?: string }) {
  const id = useId();
  const errs = errors?.[name] ?? [];
  return (
    <div class={`check${errs.length ? ' invalid' : ''}`}>
      <input type="checkbox" id={id} name={name} checked={checked} onChange={(e) => onValue((e.target as HTMLInputElement).checked)} aria-describedby={hint || errs.length ? `${id}-d` : undefined} />
      <label for={id}>{label}</label>
      {(hint || errs.length > 0) && (
        <span id={`${id}-d`} class={errs.length ? 'field-error' : 'hint'} data-field={errs.length ? name : undefined}>
          {errs.length ? errs.join(' ') : hint}
        </span>
      )}
    </div>
  );
}

export function Alert({ kind = 'error', children }: { kind?: 'error' | 'info' | 'ok' | 'warn'; children: ComponentChildren }) {
  return (
    <div class={`alert ${kind}`} role={kind === 'error' || kind === 'warn' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/**
 * The form-level message for an error. Field errors show beside their
 * fields; those for fields this form does not show are listed here, so none
 * is lost.
 */
export function FormError({ error, fields: given }: { error: unknown; fields?: FieldErrors }) {
  const fields = given ?? (error instanceof ApiError ? error.fields : {});
  const [unshown, setUnshown] = useState<string[]>([]);
  // Callers may build `fields` afresh on every render: depend on its keys, and
  // set state only when the list really changes (or this would render forever).
  const keys = Object.keys(fields).join('\n');
  useEffect(() => {
    const next = Object.keys(fields).filter((k) => k !== '' && !document.querySelector(`[data-field="${CSS.escape(k)}"]`));
    setUnshown((cur) => (cur.length === next.length && cur.every((k, i) => k === next[i]) ? cur : next));
  }, [error, keys]);
  if (!error) return null;
  // `unshown` is from the last effect: fields may have changed since (a retry clears them).
  const missing = unshown.filter((k) => fields[k]?.length);
  const shown = Object.keys(fields).filter((k) => k !== '' && !missing.includes(k));
  const whole = fields[''] ?? [];
  return (
    <Alert>
      {describe(error)}
      {shown.length > 0 && ` Check ${shown.length === 1 ? 'the marked field' : `the ${shown.length} marked fields`}.`}
      {whole.length > 0 && ` ${whole.join(' ')}`}
      {missing.length > 0 && (
        <ul>
          {missing.map((k) => (
            <li key={k}>
              <code>{k}</code>: {fields[k]!.join(' ')}
            </li>
          ))}
        </ul>
      )}
    </Alert>
  );
}

/** Field errors of a whole-document validation ("shares.3.nfs…") seen from one object's form ("nfs…"). */
export function rebase(fields: FieldErrors, prefix: RegExp): FieldErrors {
  const out: FieldErrors = {};
  for (const [k, v] of Object.entries(fields)) (out[k.replace(prefix, '')] ??= []).push(...v);
  return out;
}

export function Progress({ value, label }: { value?: number | null; label: string }) {
  const known = typeof value === 'number' && Number.isFinite(value);
  const pct = known ? Math.round(Math.min(1, Math.max(0, value! > 1 ? value! / 100 : value!)) * 100) : undefined;
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-valuetext={pct === undefined ? 'working' : `${pct}%`}>
      <div class={`bar${pct === undefined ? ' indeterminate' : ''}`} style={pct === undefined ? undefined : { width: `${pct}%` }} />
    </div>
  );
}

/** A command or path with a copy button. */
export function CopyBox({ label, text }: { label: string; text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <div class="copybox">
      <code aria-label={label}>{text}</code>
      <button type="button" class="small" onClick={copy} aria-label={`Copy ${label}`}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/** A modal confirm built on <dialog>, focus kept inside, Escape cancels. */
export function Confirm({
  title,
  children,
  confirmLabel,
  danger,
  onConfirm,
  onCancel,
}: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.open && d.close();
  }, []);
  const titleId = useId();
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={(e) => (e.preventDefault(), onCancel())}>
      <h2 id={titleId}>{title}</h2>
      <div>{children}</div>
      <div class="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" class={danger ? 'danger' : 'primary'} onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function Badge({ state }: { state: string | undefined }) {
  const s = (state ?? 'unknown').toLowerCase();
  const tone = /^(ok|online|up|healthy|running|active|started|done|succeeded|connected|idle|applied)$/.test(s)
    ? 'ok'
    : /^(degraded|healing|warn|warning|pending|queued|starting|stopped|problems|waiting-retry)$/.test(s)
      ? 'warn'
      : /^(failed|down|offline|error|missing|faulted|unavailable)$/.test(s)
        ? 'bad'
        : 'muted';
  return <span class={`badge ${tone}`}>{s}</span>;
}

/** What the appliance could not do for an object (from the reconciler). */
export function Problems({ problems }: { problems?: Array<{ message: string; driver?: string }> | undefined }) {
  if (!problems?.length) return null;
  return (
    <Alert kind="warn">
      {problems.length === 1 ? 'Not applied yet: ' : 'Not applied yet:'}
      {problems.length === 1 ? (
        problems[0]!.message
      ) : (
        <ul>
          {problems.map((p, i) => (
            <li key={i}>{p.message}</li>
          ))}
        </ul>
      )}
    </Alert>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1 tabIndex={-1} id="page-title">
        {title}
      </h1>
      {children && <div class="page-actions">{children}</div>}
    </header>
  );
}

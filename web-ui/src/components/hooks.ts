import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../lib/errors.js';
import type { FieldErrors } from './ui.js';

/**
 * Loads data on mount (and on reload()); keeps the last good value while
 * reloading. With everyMs it reloads that long after each load ends; a new
 * everyMs applies from the next wait on.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[] = [], everyMs?: number) {
  const every = useRef(everyMs);
  every.current = everyMs;
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      setLoading(true);
      load(ac.signal)
        .then((d) => {
          if (ac.signal.aborted) return;
          setData(d);
          setError(null);
        })
        .catch((e: unknown) => {
          if (!ac.signal.aborted) setError(e);
        })
        .finally(() => {
          if (ac.signal.aborted) return;
          setLoading(false);
          if (every.current) timer = setTimeout(run, every.current);
        });
    };
    run();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

/** A submit handler that tracks busy state, the form error and per-field errors. */
export function useSubmit<A extends unknown[]>(action: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fields, setFields] = useState<FieldErrors>({});
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  const run = async (...args: A): Promise<boolean> => {
    setBusy(true);
    setError(null);
    setFields({});
    try {
      await action(...args);
      return true;
    } catch (e) {
      if (!mounted.current) return false;
      setError(e);
      if (e instanceof ApiError) setFields(e.fields);
      // Move focus to the first field with an error, for keyboard and screen reader users.
      setTimeout(() => {
        const el = document.querySelector<HTMLElement>('[aria-invalid="true"]');
        el?.focus();
      }, 0);
      return false;
    } finally {
      if (mounted.current) setBusy(false);
    }
  };
  return { busy, error, fields, run, setError, setFields };
}

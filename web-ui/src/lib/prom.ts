/**
 * Parser for the Prometheus text exposition format (version 0.0.4) and
 * rates from counters, for the dashboard's throughput plots.
 *
 * Format rules that matter here: `# HELP` and `# TYPE` comment lines; a
 * sample is `name{label="value",...} value [timestamp]`; label values escape
 * `\\`, `\"` and `\n`; values may be `NaN`, `+Inf`, `-Inf`. Histograms and
 * summaries come as several sample names (`_bucket`, `_sum`, `_count`) that
 * share one TYPE line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** When the text was fetched (ms, e.g. performance.now() or Date.now()). */
  at: number;
  samples: Sample[];
  types: Record<string, MetricType>;
  help: Record<string, string>;
}

export class PromParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`metrics line ${line}: ${message}`);
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(s: string, line: number): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new PromParseError(`bad value "${s}"`, line);
  return v;
}

/** Parses one exposition; throws PromParseError on a malformed line. */
export function parseProm(text: string, at = 0): Scrape {
  const samples: Sample[] = [];
  const types: Record<string, MetricType> = {};
  const help: Record<string, string> = {};
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    const lineNo = n + 1;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(.*)$/.exec(line);
      if (!m) continue; // other comments are allowed and ignored
      if (m[1] === 'TYPE') {
        const t = m[3]!.trim();
        types[m[2]!] = (['counter', 'gauge', 'histogram', 'summary'].includes(t) ? t : 'untyped') as MetricType;
      } else {
        help[m[2]!] = m[3]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      continue;
    }
    const nm = NAME.exec(line);
    if (!nm) throw new PromParseError('expected a metric name', lineNo);
    const name = nm[0];
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        const lm = LABEL.exec(line.slice(i));
        if (!lm) throw new PromParseError('expected a label name', lineNo);
        i += lm[0].length;
        while (line[i] === ' ') i++;
        if (line[i] !== '=') throw new PromParseError(`expected = after label ${lm[0]}`, lineNo);
        i++;
        while (line[i] === ' ') i++;
        if (line[i] !== '"') throw new PromParseError(`expected a quoted value for label ${lm[0]}`, lineNo);
        i++;
        let v = '';
        for (;;) {
          const c = line[i];
          if (c === undefined) throw new PromParseError(`unterminated value for label ${lm[0]}`, lineNo);
          if (c === '\\') {
            const e = line[i + 1];
            v += e === 'n' ? '\n' : (e ?? '');
            i += 2;
          } else if (c === '"') {
            i++;
            break;
          } else {
            v += c;
            i++;
          }
        }
        labels[lm[0]] = v;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    samples.push({ name, labels, value: parseValue(rest[0] ?? '', lineNo) });
  }
  return { at, samples, types, help };
}

/** A stable key for a sample: name plus sorted labels. */
export function seriesKey(s: { name: string; labels: Record<string, string> }): string {
  const ls = Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(s.labels[k])}`)
    .join(',');
  return `${s.name}{${ls}}`;
}

/** Chooses samples: by exact name or a regular expression, and by labels. */
export interface Selector {
  name: string | RegExp;
  labels?: Record<string, string | RegExp>;
}

export function matches(sel: Selector, s: Sample): boolean {
  if (typeof sel.name === 'string' ? s.name !== sel.name : !sel.name.test(s.name)) return false;
  for (const [k, want] of Object.entries(sel.labels ?? {})) {
    const got = s.labels[k];
    if (got === undefined) return false;
    if (typeof want === 'string' ? got !== want : !want.test(got)) return false;
  }
  return true;
}

/** Sum of the current values of every matching sample (gauges). */
export function sum(scrape: Scrape, sel: Selector): number | null {
  let total = 0;
  let any = false;
  for (const s of scrape.samples) {
    if (matches(sel, s) && Number.isFinite(s.value)) {
      total += s.value;
      any = true;
    }
  }
  return any ? total : null;
}

/**
 * Per-second rate of the matching counters between two scrapes, summed over
 * series. A series whose value went down was reset (the daemon restarted):
 * as Prometheus' rate() does, its new value counts as the increase. A series
 * only in the newer scrape has no earlier point and adds nothing yet.
 * Returns null when nothing matches or the scrapes are not in time order.
 */
export function rate(prev: Scrape, cur: Scrape, sel: Selector): number | null {
  const dt = (cur.at - prev.at) / 1000;
  if (!(dt > 0)) return null;
  const before = new Map<string, number>();
  for (const s of prev.samples) if (matches(sel, s)) before.set(seriesKey(s), s.value);
  let inc = 0;
  let any = false;
  for (const s of cur.samples) {
    if (!matches(sel, s) || !Number.isFinite(s.value)) continue;
    any = true;
    const b = before.get(seriesKey(s));
    if (b === undefined || !Number.isFinite(b)) continue;
    inc += s.value >= b ? s.value - b : s.value;
  }
  return any ? inc / dt : null;
}

/** A fixed-length ring of points for a live plot. */
export function pushPoint(points: readonly number[], v: number, max: number): number[] {
  const out = points.length >= max ? points.slice(points.length - max + 1) : points.slice();
  out.push(v);
  return out;
}

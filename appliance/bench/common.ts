/** What the NFS benchmarks (nfs-bench.ts, gluster-bench.ts) share: process groups, the namespace's TCP congestion control, medians, tables. */
import { type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Signals a child that leads its own process group (spawned detached): the
 * group holds exactly what the benchmark started.
 */
export function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    /* already gone */
  }
}

/**
 * The TCP congestion control a benchmark namespace is given for `--cc`:
 * `cubic` (the appliance's own, Debian's default) unless another is named;
 * `host` gives undefined: keep the host's, which a new namespace inherits.
 * See nfs-bench.ts for why it matters here.
 */
export function wantedCongestion(cc: string | undefined): string | undefined {
  return cc === 'host' ? undefined : (cc ?? 'cubic');
}

/** The TCP congestion control network namespace `ns` uses (for the table's caption). */
export async function congestionOf(ns: string): Promise<string> {
  return (await promisify(execFile)('ip', ['netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.tcp_congestion_control'])).stdout.trim();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '—';
  return x >= 100 ? Math.round(x).toString() : x.toFixed(1);
}

/** `a/b` as a ratio cell ("1.23x"), or a dash when there is no b. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(b) ? `${(a / b).toFixed(2)}x` : '—';
}

/** A Markdown table with padded columns, under a caption line. */
export function markdownTable(caption: string, head: string[], lines: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [caption, row(head), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

/** Figures per workload key, one per round. */
export type Results = Record<string, number[]>;

export interface Contenders {
  cairn: () => Promise<Record<string, number>>;
  ganesha: () => Promise<Record<string, number>>;
  /** The ceiling (fio on the same storage), run after both servers each round. */
  limit: { label: string; run: () => Promise<Record<string, number>> };
}

/**
 * Runs `rounds` rounds of Cairn and Ganesha, alternating which goes first
 * (FACTS.md: figures swing 2–4x on a shared machine), then the limit;
 * progress goes to stderr, the figures are collected per workload.
 */
export async function runRounds(rounds: number, c: Contenders): Promise<{ cairn: Results; ganesha: Results; limit: Results }> {
  const results = { cairn: {} as Results, ganesha: {} as Results, limit: {} as Results };
  const add = (into: Results, r: Record<string, number>) => {
    for (const [k, v] of Object.entries(r)) (into[k] ??= []).push(v);
    process.stderr.write(`  ${JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)])))}\n`);
  };
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? (['ganesha', 'cairn'] as const) : (['cairn', 'ganesha'] as const);
    for (const who of order) {
      process.stderr.write(`round ${i + 1}/${rounds}: ${who}…\n`);
      add(results[who], await c[who]());
    }
    process.stderr.write(`round ${i + 1}/${rounds}: ${c.limit.label}…\n`);
    add(results.limit, await c.limit.run());
  }
  return results;
}

/**
 * An NFS-Ganesha configuration serving one export over NFSv3/TCP only
 * (no NLM, RQUOTA or UDP; NFSv4 graceless so it answers at once), for
 * the benchmarks and the differential tests. `fsal` is the FSAL block's
 * body, e.g. `Name = VFS;`. Ganesha's MOUNT path is the export's Path
 * (FACTS.md).
 */
export function ganeshaConfig(o: { port: number; mountPort: number; path: string; pseudo: string; fsal: string }): string {
  return `NFS_CORE_PARAM { Protocols = 3; NFS_Port = ${o.port}; MNT_Port = ${o.mountPort}; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }
NFSV4 { Graceless = true; }
EXPORT {
  Export_Id = 1; Path = "${o.path}"; Pseudo = "${o.pseudo}"; Protocols = 3; Transports = TCP;
  Access_Type = RW; Squash = No_Root_Squash; SecType = sys;
  FSAL { ${o.fsal} }
}
LOG { Default_Log_Level = WARN; }
`;
}

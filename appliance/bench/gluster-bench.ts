/**
 * `npm run bench:gluster`: NFS over a replica-3 Gluster volume — Cairn's
 * gfapi backend (`cairnd nfs-serve --backend gfapi`) against NFS-Ganesha
 * FSAL_GLUSTER, with the same libnfs client (nfs-bench-client.c), and
 * fio's `gfapi` engine on the same volume as the raw ceiling. A benchmark,
 * not a test: it prints numbers and asserts nothing.
 *
 *   npm run bench:gluster [-- --rounds N] [--quick] [--profile] [--cc NAME|host]
 *
 * The lab namespace (bricks, glusterd, servers, client) uses TCP congestion
 * control `cubic`, the appliance's own, unless `--cc` says otherwise (as
 * bench:nfs, whose header says why).
 *
 * A second table gives the CPU seconds each NFS server's process group
 * used per workload (utime + stime from /proc, for the same work on both
 * sides): less noisy than throughput when the machine is shared.
 *
 * `--profile` also prints, per workload of Cairn's runs, what the gfapi
 * backend did (CAIRN_GFAPI_STATS): backend operations and libgfapi calls
 * per NFS-level operation with their mean latency, the most operations in
 * flight at once, and object/fd cache hits.
 *
 * glusterd, its three loop-file XFS bricks, both NFS servers, fio and the
 * client all run in one private network namespace (the test lab of
 * test/pool/gluster/lab.ts), so every server reaches the bricks the same
 * way. Each round runs both servers, alternating which goes first, each in
 * a fresh directory of the volume, after the bricks have settled from the
 * previous run (see settle); the table shows medians (FACTS.md: figures
 * swing 2–4x on a shared machine). Needs root, glusterfs-server,
 * nfs-ganesha-gluster, rpcbind, fio, gcc and libnfs-dev.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { GlusterLab, replica3 } from '../test/pool/gluster/lab.js';
import { openGfapiBackend } from '../src/nfs/backend/gfapi/index.js';
import { congestionOf, fmt, ganeshaConfig, killGroup, markdownTable, median, ratio, runRounds, wantedCongestion, type Results } from './common.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const appliance = resolve(here, '..', '..');
const benchSrc = join(appliance, 'bench');
const ROOT = { uid: 0, gid: 0, gids: [] };

interface Sizes {
  seqMiB: number;
  randOps: number;
  files: number;
}
const FULL: Sizes = { seqMiB: 1024, randOps: 10000, files: 5000 };
const QUICK: Sizes = { seqMiB: 256, randOps: 3000, files: 1000 };

const ROWS = [
  { key: 'seqwrite', label: 'sequential write, 1 MiB calls (QD 8)', unit: 'MB/s' },
  { key: 'seqread', label: 'sequential read, 1 MiB calls (QD 8)', unit: 'MB/s' },
  { key: 'randread', label: '4 KiB random reads (QD 16)', unit: 'IOPS' },
  { key: 'create', label: 'create+write 4 KiB+close', unit: 'files/s' },
  { key: 'stat', label: 'GETATTR/LOOKUP (stat of a path)', unit: 'stats/s' },
  { key: 'readdir', label: 'READDIRPLUS of the large directory', unit: 'entries/s' },
] as const;

/** CPU seconds used so far by the live processes that `pick` chooses, given their stat fields after "(comm)" and their comm (utime + stime). */
async function cpuSeconds(pick: (fields: string[], comm: string) => boolean): Promise<number> {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    // Fields after "(comm)": state ppid pgrp … utime(12th) stime(13th).
    const f = stat.slice(close + 2).split(' ');
    if (!pick(f, stat.slice(stat.indexOf('(') + 1, close))) continue;
    total += (Number(f[11]) + Number(f[12])) / ticks;
  }
  return total;
}

/** CPU seconds used so far by the live processes of process group `pgid`. */
const groupCpuSeconds = (pgid: number) => cpuSeconds((f) => Number(f[2]) === pgid);
/** CPU seconds used so far by the brick processes (only the lab's run during the benchmark). */
const bricksCpuSeconds = () => cpuSeconds((_, comm) => comm === 'glusterfsd');

interface ClientResult {
  seconds: number;
  bytes: number;
  ops: number;
}

class Bench {
  private lab!: GlusterLab;
  private work = '';
  private client = '';
  private readonly cleanups: Array<() => Promise<unknown>> = [];
  private readonly live = new Set<ChildProcess>();
  private runs = 0;
  /** CAIRN_GFAPI_STATS file of the running cairnd (--profile), and how much of it was read. */
  private stats?: { file: string; read: number };
  /** The NFS server under test (its process group's CPU is measured per workload). */
  private server?: ChildProcess;

  /** The lab namespace's TCP congestion control, as set up. */
  cc = '';

  constructor(
    private readonly sizes: Sizes,
    private readonly profile = false,
    private readonly ccWanted?: string,
  ) {}

  /**
   * Prints what the gfapi backend did since the last call: per libgfapi
   * call and backend operation, count per workload op and mean µs.
   */
  private async profileStep(label: string, ops: number): Promise<void> {
    if (!this.stats) return;
    await new Promise((r) => setTimeout(r, 500)); // the dumper writes every 200 ms
    const text = await readFile(this.stats.file, 'utf8').catch(() => '');
    const lines = text.slice(this.stats.read).split('\n').filter(Boolean);
    this.stats.read = text.length;
    type Dump = { ops: Record<string, [number, number]>; calls: Record<string, [number, number]>; maxInFlight: number; cache: Record<string, number> };
    const sum = { ops: {} as Record<string, [number, number]>, calls: {} as Record<string, [number, number]>, max: 0, cache: {} as Record<string, number> };
    for (const l of lines) {
      const d = JSON.parse(l) as Dump;
      for (const k of ['ops', 'calls'] as const) {
        for (const [n, [c, us]] of Object.entries(d[k])) {
          const t = (sum[k][n] ??= [0, 0]);
          t[0] += c;
          t[1] += us;
        }
      }
      sum.max = Math.max(sum.max, d.maxInFlight);
      for (const [n, c] of Object.entries(d.cache)) sum.cache[n] = (sum.cache[n] ?? 0) + c;
    }
    const show = (m: Record<string, [number, number]>) =>
      Object.entries(m)
        .map(([n, [c, us]]) => `${n} ${(c / ops).toFixed(2)}×${(us / Math.max(c, 1)).toFixed(0)}µs`)
        .join(', ');
    process.stderr.write(`    [profile ${label}, per op of ${ops}] max in flight ${sum.max}; ops: ${show(sum.ops)}\n`);
    process.stderr.write(`      gfapi: ${show(sum.calls)}; cache ${JSON.stringify(sum.cache)}\n`);
  }

  async setup(): Promise<void> {
    this.work = await mkdtemp('/var/tmp/cairn-gluster-bench-');
    this.client = join(this.work, 'nfs-bench-client');
    await run('gcc', ['-O2', '-Wall', '-o', this.client, join(benchSrc, 'nfs-bench-client.c'), '-lnfs']);
    // GlusterLab registers its teardown through t.after.
    const ctx = { after: (fn: () => Promise<unknown>) => this.cleanups.push(fn) } as unknown as TestContext;
    this.lab = await GlusterLab.start(ctx, { tcpCongestion: this.ccWanted });
    this.cc = await congestionOf(this.lab.netns);
    // Sparse loop files: room for XFS's speculative preallocation and
    // Gluster's storage.reserve; each run's big files are removed after it.
    await replica3(this.lab, 'gv', 8 * 2 ** 30);
  }

  async cleanup(): Promise<void> {
    for (const p of this.live) killGroup(p, 'SIGKILL');
    for (const c of this.cleanups.reverse()) await c().catch(() => undefined);
    if (this.work) await rm(this.work, { recursive: true, force: true });
  }

  /** A fresh directory of the volume for one server's run; the previous run's large files go. */
  private async freshDir(): Promise<string> {
    const b = await openGfapiBackend({ volume: 'gv', volfileServer: this.lab.host });
    const root = await b.root();
    if (this.runs > 0) {
      const prev = await b.lookup(ROOT, root, `run${this.runs}`);
      for (const f of ['big', 'warm', 'fio.dat']) await b.remove(ROOT, prev.handle, f).catch(() => undefined);
    }
    const name = `run${++this.runs}`;
    await b.mkdir(ROOT, root, name, { mode: 0o777 });
    await this.settle();
    return `/${name}`;
  }

  /**
   * Waits until the bricks are idle (`sync`, then under 5% of a CPU over
   * half a second; 20 s at most), so that what the previous contender
   * left behind — the deletion of its big files (XFS frees the extents,
   * the loop devices discard them), the bricks releasing the fds and
   * locks of a server that just exited — does not land on the next one's
   * first workload. Either server, and fio, can come next.
   */
  private async settle(): Promise<void> {
    const t0 = Date.now();
    await run('sync', []);
    for (;;) {
      const before = await bricksCpuSeconds();
      await new Promise((r) => setTimeout(r, 500));
      const busy = ((await bricksCpuSeconds()) - before) / 0.5;
      if (busy < 0.05 || Date.now() - t0 > 20_000) {
        process.stderr.write(`  (bricks settled in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${Math.round(busy * 100)}% of a CPU)\n`);
        return;
      }
    }
  }

  private async start(args: string[], port: number, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
    const child = spawn('ip', ['netns', 'exec', this.lab.netns, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    this.live.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    child.once('exit', () => this.live.delete(child));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args[0]} exited at start: ${out}`);
      try {
        await run('ip', ['netns', 'exec', this.lab.netns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { timeout: 5000 });
        return child;
      } catch {
        if (Date.now() > deadline) throw new Error(`${args[0]} did not listen on ${port}: ${out}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  private async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((res) => child.once('exit', () => res()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
    await done;
    clearTimeout(timer);
  }

  private async client1(url: string, args: string[]): Promise<ClientResult> {
    const { stdout } = await run('ip', ['netns', 'exec', this.lab.netns, this.client, url, ...args], {
      timeout: 900_000,
      maxBuffer: 1 << 20,
    });
    const line = stdout.trim().split('\n').at(-1) ?? '';
    if (!line.startsWith('{')) throw new Error(`client ${args.join(' ')}: ${stdout}`);
    return JSON.parse(line) as ClientResult;
  }

  private async workloads(url: string, root: string): Promise<Record<string, number>> {
    const s = this.sizes;
    const r: Record<string, number> = {};
    const pgid = this.server?.pid;
    /** Runs one workload; records the server's CPU seconds for it under `${key}Cpu`. */
    const measured = async (key: string, args: string[]): Promise<ClientResult> => {
      const before = pgid ? await groupCpuSeconds(pgid) : 0;
      const out = await this.client1(url, args);
      if (pgid) r[`${key}Cpu`] = (await groupCpuSeconds(pgid)) - before;
      return out;
    };
    await this.client1(url, ['seqwrite', `${root}/warm`, '16', '8']);
    await this.client1(url, ['seqread', `${root}/warm`, '16', '8']);
    await this.client1(url, ['create', `${root}/warmdir`, '200', '16']);
    await this.profileStep('warm-up', 1);
    // Over a file just written (untimed), as in nfs-bench: a new file's page
    // cache is memory the VM's host faults back in (free page reporting).
    await this.client1(url, ['seqwrite', `${root}/big`, String(s.seqMiB), '8']);
    const w = await measured('seqwrite', ['seqwrite', `${root}/big`, String(s.seqMiB), '8']);
    r.seqwrite = w.bytes / w.seconds / 1e6;
    await this.profileStep('seqwrite', s.seqMiB);
    const rd = await measured('seqread', ['seqread', `${root}/big`, String(s.seqMiB), '8']);
    r.seqread = rd.bytes / rd.seconds / 1e6;
    await this.profileStep('seqread', s.seqMiB);
    const rr = await measured('randread', ['randread', `${root}/big`, String(s.seqMiB), String(s.randOps), '16']);
    r.randread = rr.ops / rr.seconds;
    await this.profileStep('randread', s.randOps);
    const c = await measured('create', ['create', `${root}/many`, String(s.files), '16']);
    r.create = c.ops / c.seconds;
    await this.profileStep('create', s.files);
    const st = await measured('stat', ['stat', `${root}/many`, String(s.files), '16']);
    r.stat = st.ops / st.seconds;
    await this.profileStep('stat', s.files);
    const ls = await measured('readdir', ['readdir', `${root}/many`]);
    r.readdir = ls.ops / ls.seconds;
    await this.profileStep('readdir', s.files);
    return r;
  }

  async cairn(): Promise<Record<string, number>> {
    const dir = await this.freshDir();
    const bin = join(appliance, 'bin', 'cairnd.js');
    const env: NodeJS.ProcessEnv = { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '64' };
    if (this.profile) {
      this.stats = { file: join(this.work, `gfapi-stats-${this.runs}.jsonl`), read: 0 };
      env.CAIRN_GFAPI_STATS = this.stats.file;
    }
    const args = [process.execPath, bin, 'nfs-serve', '--backend', 'gfapi', '--volume', 'gv', '--volfile-server', this.lab.host];
    args.push('--port', '3049', '--host', '127.0.0.1', '--log-level', 'warn', '--fh-secret', join(this.work, 'fh.secret'));
    const child = await this.start(args, 3049, env);
    this.server = child;
    try {
      return await this.workloads('nfs://127.0.0.1/export?version=3&nfsport=3049&mountport=3049', dir);
    } finally {
      this.stats = undefined;
      this.server = undefined;
      await this.stop(child);
    }
  }

  async ganesha(): Promise<Record<string, number>> {
    const dir = await this.freshDir();
    const conf = join(this.work, 'ganesha.conf');
    await writeFile(
      conf,
      ganeshaConfig({ port: 2049, mountPort: 20048, path: '/gv', pseudo: '/gv', fsal: `Name = GLUSTER; Hostname = "${this.lab.host}"; Volume = "gv";` }),
    );
    const child = await this.start(
      ['unshare', '-m', '--propagation', 'private', 'bash', join(benchSrc, 'ganesha-ns.sh'), conf, join(this.work, 'ganesha.log')],
      2049,
    );
    this.server = child;
    try {
      // FACTS.md: Ganesha's NFSv3 MOUNT path is the export's Path.
      return await this.workloads('nfs://127.0.0.1/gv?version=3&nfsport=2049&mountport=20048', dir);
    } finally {
      this.server = undefined;
      await this.stop(child);
    }
  }

  /** fio's gfapi engine on the same volume: the ceiling for data workloads. */
  async fio(): Promise<Record<string, number>> {
    const dir = await this.freshDir();
    const s = this.sizes;
    const fio = async (extra: string[]): Promise<{ bw: number; iops: number }> => {
      const { stdout } = await run(
        'ip',
        [
          'netns', 'exec', this.lab.netns, 'fio', '--name=limit', '--ioengine=gfapi', '--volume=gv', `--brick=${this.lab.host}`,
          `--filename=${dir.slice(1)}/fio.dat`, '--output-format=json', `--size=${s.seqMiB}M`, ...extra,
        ],
        { maxBuffer: 16 << 20, timeout: 900_000 },
      );
      const json = stdout.slice(stdout.indexOf('{'));
      const job = (JSON.parse(json) as { jobs: { read: { bw_bytes: number; iops: number }; write: { bw_bytes: number; iops: number } }[] }).jobs[0]!;
      const side = job.write.bw_bytes > 0 ? job.write : job.read;
      return { bw: side.bw_bytes / 1e6, iops: side.iops };
    };
    const r: Record<string, number> = {};
    await fio(['--rw=write', '--bs=1M', '--end_fsync=1']);
    r.seqwrite = (await fio(['--rw=write', '--bs=1M', '--end_fsync=1'])).bw;
    r.seqread = (await fio(['--rw=read', '--bs=1M'])).bw;
    r.randread = (await fio(['--rw=randread', '--bs=4k', `--number_ios=${s.randOps}`])).iops;
    return r;
  }
}

function table(cairn: Results, ganesha: Results, limit: Results, rounds: number, cc: string): string {
  const head = ['workload', 'unit', 'Cairn gfapi', 'Ganesha GLUSTER', 'Cairn/Ganesha', 'fio gfapi', 'Cairn/fio'];
  const lines = ROWS.map((r) => {
    const c = median(cairn[r.key] ?? []);
    const g = median(ganesha[r.key] ?? []);
    const l = median(limit[r.key] ?? []);
    return [r.label, r.unit, fmt(c), fmt(g), ratio(c, g), fmt(l), ratio(c, l)];
  });
  const speed = markdownTable(`replica-3 volume on one host; medians of ${rounds} rounds (alternating order), TCP congestion control ${cc}; higher is better`, head, lines);
  const cpuHead = ['workload', 'Cairn CPU-s', 'Ganesha CPU-s', 'Cairn/Ganesha'];
  const cpuLines = ROWS.map((r) => {
    const c = median(cairn[`${r.key}Cpu`] ?? []);
    const g = median(ganesha[`${r.key}Cpu`] ?? []);
    return [r.label, c.toFixed(2), g.toFixed(2), ratio(c, g)];
  });
  const cpu = markdownTable('CPU seconds of the NFS server process group for the same work; medians; lower is better', cpuHead, cpuLines);
  return `${speed}\n${cpu}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, quick: { type: 'boolean' }, profile: { type: 'boolean' }, cc: { type: 'string' } } });
  if (process.getuid?.() !== 0) throw new Error('the Gluster benchmark needs root (namespaces, loop devices)');
  const rounds = Number(values.rounds ?? 3);
  const bench = new Bench(values.quick ? QUICK : FULL, values.profile ?? false, wantedCongestion(values.cc));
  const onSignal = () => void bench.cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let results;
  try {
    await bench.setup();
    results = await runRounds(rounds, {
      cairn: () => bench.cairn(),
      ganesha: () => bench.ganesha(),
      limit: { label: 'fio gfapi', run: () => bench.fio() },
    });
  } finally {
    await bench.cleanup();
  }
  process.stdout.write(`${table(results.cairn, results.ganesha, results.limit, rounds, bench.cc)}\n`);
  process.exit(0); // the shared glfs_t would keep the process alive (glfs_fini takes 10 s)
}

await main();

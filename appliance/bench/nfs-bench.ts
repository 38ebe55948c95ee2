/**
 * `npm run bench:nfs`: Cairn's NFSv3 server (`cairnd nfs-serve --backend
 * posix`) against NFS-Ganesha (FSAL_VFS, NFSv3 only) on the same directory,
 * with the same libnfs client (nfs-bench-client.c, compiled here with gcc),
 * and `fio` directly on the directory as the limit. A benchmark, not a test:
 * it prints numbers and asserts nothing.
 *
 *   npm run bench:nfs [-- --rounds N] [--quick] [--keep] [--cc NAME|host]
 *
 * Both servers run inside a private network namespace made for the run
 * (Ganesha also in a private mount namespace with its own rpcbind, see
 * ganesha-ns.sh); the namespace, servers and data are removed at the end.
 * The namespace's TCP congestion control is `cubic`, the appliance's own
 * (Debian's default; the image sets none), unless `--cc` names another or
 * `host` (keep what the host uses, which a new namespace inherits): with
 * `bbr` and no `fq` qdisc the kernel paces every connection, loopback
 * too, and on this VM that held one connection to about 3 GB/s (5 GB/s
 * with cubic), hiding the servers' own limits behind the same cap.
 * Numbers on a shared machine swing 2–4x (FACTS.md): each round runs both
 * servers, alternating which goes first, and the table shows medians.
 * Needs root, nfs-ganesha(-vfs), rpcbind, fio, gcc and libnfs-dev.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { congestionOf, fmt, ganeshaConfig, killGroup, markdownTable, median, ratio, runRounds, wantedCongestion, type Results } from './common.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** appliance/ (this file runs as appliance/dist/bench/nfs-bench.js). */
const appliance = resolve(here, '..', '..');
const benchSrc = join(appliance, 'bench');

interface Sizes {
  seqMiB: number;
  randOps: number;
  files: number;
  clients: number;
  clientMiB: number;
  clientRandOps: number;
}

// 8 clients × 512 MiB (4 GiB, about 1.5 s): with 128 MiB each a run lasted
// 0.4 s, of which the 8 clients' start and mount took 40–50 ms and where
// the scheduler put the clients beside the server swung it by ±20 %.
const FULL: Sizes = { seqMiB: 1024, randOps: 20000, files: 10000, clients: 8, clientMiB: 512, clientRandOps: 16000 };
const QUICK: Sizes = { seqMiB: 256, randOps: 5000, files: 2000, clients: 8, clientMiB: 32, clientRandOps: 1000 };

interface Row {
  key: string;
  label: string;
  unit: string;
}

const ROWS: Row[] = [
  { key: 'seqwrite', label: 'sequential write, 1 MiB calls', unit: 'MB/s' },
  { key: 'seqread', label: 'sequential read, 1 MiB calls', unit: 'MB/s' },
  { key: 'randread', label: '4 KiB random reads (QD 16)', unit: 'IOPS' },
  { key: 'create', label: 'create+write 4 KiB+close', unit: 'files/s' },
  { key: 'stat', label: 'GETATTR/LOOKUP (stat of a path)', unit: 'stats/s' },
  { key: 'readdir', label: 'READDIRPLUS of the large directory', unit: 'entries/s' },
  { key: 'seqread8', label: '8 clients: sequential read', unit: 'MB/s' },
  { key: 'randread8', label: '8 clients: 4 KiB random reads', unit: 'IOPS' },
];


/** utime + stime of a process, all its threads, in seconds (/proc/PID/stat). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** The first process named `comm` at or below `pid` in the process tree. */
async function findProcess(pid: number, comm: string): Promise<number | undefined> {
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.shift()!;
    try {
      if ((await readFile(`/proc/${p}/comm`, 'utf8')).trim() === comm) return p;
      for (const t of await readdir(`/proc/${p}/task`)) {
        const kids = (await readFile(`/proc/${p}/task/${t}/children`, 'utf8')).trim();
        if (kids) todo.push(...kids.split(' ').map(Number));
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return undefined;
}

interface ClientResult {
  op: string;
  seconds: number;
  bytes: number;
  ops: number;
}

class Bench {
  private readonly ns = `cairn-bench-${process.pid}`;
  private work = '';
  private data = '';
  private client = '';
  private readonly live = new Set<ChildProcess>();
  /** The server process whose CPU time is measured. */
  private serverPid = 0;
  private runs = 0;

  /** The namespace's TCP congestion control, as set up. */
  cc = '';

  constructor(
    private readonly sizes: Sizes,
    private readonly ccWanted?: string,
  ) {}

  async setup(): Promise<void> {
    this.work = await mkdtemp('/var/tmp/cairn-nfs-bench-');
    this.data = join(this.work, 'data');
    await mkdir(this.data);
    this.client = join(this.work, 'nfs-bench-client');
    await run('gcc', ['-O2', '-Wall', '-o', this.client, join(benchSrc, 'nfs-bench-client.c'), '-lnfs']);
    await run('ip', ['netns', 'add', this.ns]);
    await run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    // The namespace's own setting (a new one starts with the host's).
    if (this.ccWanted) await run('ip', ['netns', 'exec', this.ns, 'sysctl', '-qw', `net.ipv4.tcp_congestion_control=${this.ccWanted}`]);
    this.cc = await congestionOf(this.ns);
  }

  async cleanup(keep: boolean): Promise<void> {
    for (const p of this.live) if (p.pid) killGroup(p, 'SIGKILL');
    await run('ip', ['netns', 'del', this.ns]).catch(() => undefined);
    if (!keep && this.work) await rm(this.work, { recursive: true, force: true });
  }

  /**
   * Gives the next run an empty data directory. The last run's small files
   * are moved aside, not deleted, until the end: on ext4 without a journal
   * (this machine's /var/tmp) the inode allocator skips inodes freed in the
   * last minute one by one (recently_deleted() in ialloc.c), which after
   * deleting 10,000 files took over a third of the server's CPU in the
   * next run's create workload, a cost of the benchmark, not of a server.
   * Big single files are deleted (one inode each).
   */
  private async clearData(): Promise<void> {
    const aside = join(this.work, `done-${++this.runs}`);
    await rename(this.data, aside);
    await mkdir(this.data);
    for (const big of ['big', 'warm', 'fio.dat', 'tcp.dat']) await rm(join(aside, big), { force: true });
  }

  /** Starts a process in the namespace; resolves once `ready` says so. */
  private async start(args: string[], ready: () => Promise<boolean>, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
    const child = spawn('ip', ['netns', 'exec', this.ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    this.live.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.once('exit', () => this.live.delete(child));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args[0]} exited at start: ${out}`);
      if (await ready()) return child;
      if (Date.now() > deadline) {
        await this.stop(child, exited);
        throw new Error(`${args[0]} did not start within 30 s: ${out}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async stop(child: ChildProcess, exited?: Promise<void>): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = exited ?? new Promise<void>((res) => child.once('exit', () => res()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
    await done;
    clearTimeout(timer);
  }

  /** True once a TCP port answers inside the namespace. */
  private async listening(port: number): Promise<boolean> {
    try {
      await run('ip', ['netns', 'exec', this.ns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { timeout: 5000 });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * One timed client run, also charging the server's CPU time to it: on a
   * shared machine wall-clock rates mostly measure how much CPU a server got,
   * so the table also shows work done per CPU-second of the server.
   */
  private async timed(r: Record<string, number>, key: string, url: string, args: string[][], rate: (xs: ClientResult[], wall: number) => number): Promise<void> {
    const c0 = await cpuSeconds(this.serverPid);
    const t0 = performance.now();
    const xs = await Promise.all(args.map((a) => this.client1(url, a)));
    const wall = (performance.now() - t0) / 1000;
    const cpu = (await cpuSeconds(this.serverPid)) - c0;
    r[key] = rate(xs, wall);
    r[`${key}:cpu`] = (r[key] * wall) / Math.max(cpu, 0.01);
  }

  private async client1(url: string, args: string[]): Promise<ClientResult> {
    const { stdout } = await run('ip', ['netns', 'exec', this.ns, this.client, url, ...args], { timeout: 600_000, maxBuffer: 1 << 20 });
    const line = stdout.trim().split('\n').at(-1) ?? '';
    if (!line.startsWith('{')) throw new Error(`client ${args.join(' ')}: ${stdout}`);
    return JSON.parse(line) as ClientResult;
  }

  /** Every workload against one server; returns rates by row key. */
  private async workloads(url: string, root: string): Promise<Record<string, number>> {
    const s = this.sizes;
    const big = `${root}/big`;
    const dir = `${root}/many`;
    const r: Record<string, number> = {};
    // Warm-up, untimed: servers run for months; the first calls of a fresh
    // process (JIT, caches) are not what this table is about. Measured: with
    // a warm-up of a few hundred calls, V8's optimizing compiler threads
    // still took a fifth of Cairn's CPU during the timed sequential write;
    // a few thousand calls of each kind get it past that.
    await this.client1(url, ['seqwrite', `${root}/warm`, '64', '8']);
    await this.client1(url, ['seqread', `${root}/warm`, '64', '8']);
    await this.client1(url, ['randread', `${root}/warm`, '64', '3000', '16']);
    await this.client1(url, ['create', `${root}/warmdir`, '1000', '16']);
    await this.client1(url, ['stat', `${root}/warmdir`, '1000', '16']);
    for (let i = 0; i < 3; i++) await this.client1(url, ['readdir', `${root}/warmdir`]);
    const mbps = (xs: ClientResult[], wall: number) => (xs.length === 1 ? xs[0]!.bytes / xs[0]!.seconds : xs.reduce((a, x) => a + x.bytes, 0) / wall) / 1e6;
    const opsps = (xs: ClientResult[], wall: number) => (xs.length === 1 ? xs[0]!.ops / xs[0]!.seconds : xs.reduce((a, x) => a + x.ops, 0) / wall);
    // The timed write goes over a file this server has just written (untimed).
    // Into a new file, every page of page cache is memory this VM's kernel had
    // handed back to its host (virtio-balloon free page reporting, ~370 GB
    // reported here): the host faults each one in again inside the copy, and
    // that cost (0.25–3.5 s of kernel time per GiB, for a plain C loop of
    // pwrite too) swung either server's figure by 4× from run to run.
    await this.client1(url, ['seqwrite', big, String(s.seqMiB), '8']);
    await this.timed(r, 'seqwrite', url, [['seqwrite', big, String(s.seqMiB), '8']], mbps);
    await this.timed(r, 'seqread', url, [['seqread', big, String(s.seqMiB), '8']], mbps);
    await this.timed(r, 'randread', url, [['randread', big, String(s.seqMiB), String(s.randOps), '16']], opsps);
    await this.timed(r, 'create', url, [['create', dir, String(s.files), '16']], opsps);
    await this.timed(r, 'stat', url, [['stat', dir, String(s.files), '16']], opsps);
    await this.timed(r, 'readdir', url, [['readdir', dir]], opsps);
    const n = s.clients;
    const seqArgs = Array.from({ length: n }, (_, i) => ['seqread', big, String(s.clientMiB), '4', String((i * s.clientMiB) % s.seqMiB)]);
    await this.timed(r, 'seqread8', url, seqArgs, mbps);
    const rndArgs = Array.from({ length: n }, () => ['randread', big, String(s.seqMiB), String(s.clientRandOps), '4']);
    await this.timed(r, 'randread8', url, rndArgs, opsps);
    return r;
  }

  async ganesha(): Promise<Record<string, number>> {
    await this.clearData();
    const conf = join(this.work, 'ganesha.conf');
    await writeFile(
      conf,
      ganeshaConfig({ port: 2049, mountPort: 20048, path: this.data, pseudo: '/export', fsal: 'Name = VFS;' }),
    );
    const child = await this.start(
      ['unshare', '-m', '--propagation', 'private', 'bash', join(benchSrc, 'ganesha-ns.sh'), conf, join(this.work, 'ganesha.log')],
      () => this.listening(2049),
    );
    this.serverPid = (await findProcess(child.pid!, 'ganesha.nfsd')) ?? child.pid!;
    try {
      // FACTS.md: Ganesha's NFSv3 MOUNT path is the export's Path.
      return await this.workloads(`nfs://127.0.0.1${this.data}?version=3&nfsport=2049&mountport=20048`, '');
    } finally {
      await this.stop(child);
    }
  }

  async cairn(): Promise<Record<string, number>> {
    await this.clearData();
    const bin = join(appliance, 'bin', 'cairnd.js');
    // Ganesha runs 256 worker threads by default; libuv's pool is 4. Calls
    // that wait for the disk (COMMIT's fdatasync, CREATE in a busy journal)
    // each hold a worker, and concurrent fsyncs share one journal commit.
    const env = { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '64' };
    const args = ['node', bin, 'nfs-serve', '--dir', this.data, '--port', '3049', '--host', '127.0.0.1', '--backend', 'posix', '--log-level', 'warn'];
    const child = await this.start(args, () => this.listening(3049), env);
    this.serverPid = (await findProcess(child.pid!, 'node')) ?? child.pid!;
    try {
      return await this.workloads('nfs://127.0.0.1/export?version=3&nfsport=3049&mountport=3049', '');
    } finally {
      await this.stop(child);
    }
  }

  /** fio straight on the directory: the limit for the data workloads. */
  async fio(): Promise<Record<string, number>> {
    await this.clearData();
    const s = this.sizes;
    const file = join(this.data, 'fio.dat');
    const fio = async (extra: string[]): Promise<{ bw: number; iops: number }> => {
      const { stdout } = await run(
        'fio',
        // --invalidate=0: fio drops the file's pages before each job by
        // default, so its reads came from the disk (about 500 MB/s here)
        // while both NFS servers read the page cache: no limit at all.
        ['--name=limit', `--filename=${file}`, '--ioengine=psync', '--invalidate=0', '--output-format=json', `--size=${s.seqMiB}M`, ...extra],
        { maxBuffer: 16 << 20, timeout: 600_000 },
      );
      const job = (JSON.parse(stdout) as { jobs: { read: { bw_bytes: number; iops: number }; write: { bw_bytes: number; iops: number } }[] }).jobs[0]!;
      const side = job.write.bw_bytes > 0 ? job.write : job.read;
      return { bw: side.bw_bytes / 1e6, iops: side.iops };
    };
    const r: Record<string, number> = {};
    // Over a written file, as the servers' timed write (see workloads()).
    await fio(['--rw=write', '--bs=1M', '--end_fsync=1']);
    r.seqwrite = (await fio(['--rw=write', '--bs=1M', '--end_fsync=1'])).bw;
    r.seqread = (await fio(['--rw=read', '--bs=1M'])).bw;
    r.randread = (await fio(['--rw=randread', '--bs=4k', `--number_ios=${s.randOps}`])).iops;
    const n = s.clients;
    r.seqread8 = (await fio(['--rw=read', '--bs=1M', `--numjobs=${n}`, '--group_reporting', `--io_size=${s.clientMiB}M`, `--offset_increment=${Math.floor(s.seqMiB / n)}M`, `--size=${Math.floor(s.seqMiB / n)}M`])).bw;
    r.randread8 = (await fio(['--rw=randread', '--bs=4k', `--numjobs=${n}`, '--group_reporting', `--number_ios=${s.clientRandOps}`])).iops;
    // One loopback TCP connection with the least server work there is
    // (nfs-bench-client.c, run_tcp): the ceiling of the single-client
    // sequential rows, which fio's page-cache figures are not.
    const mbps = (x: ClientResult) => x.bytes / x.seconds / 1e6;
    const tcpFile = join(this.data, 'tcp.dat');
    await this.client1('tcp', ['write', tcpFile, String(s.seqMiB)]);
    r['seqwrite:tcp'] = mbps(await this.client1('tcp', ['write', tcpFile, String(s.seqMiB)]));
    r['seqread:tcp'] = mbps(await this.client1('tcp', ['read', file, String(s.seqMiB)]));
    return r;
  }
}

function table(cairn: Results, ganesha: Results, limit: Results, rounds: number, cc: string): string {
  const head = ['workload', 'unit', 'Cairn', 'Ganesha', 'Cairn/Ganesha', 'fio limit', 'Cairn/limit', 'TCP limit', 'Cairn/TCP', 'Cairn per server CPU-s', 'Ganesha per server CPU-s', 'ratio'];
  const lines = ROWS.map((r) => {
    const c = median(cairn[r.key] ?? []);
    const g = median(ganesha[r.key] ?? []);
    const l = median(limit[r.key] ?? []);
    const cc = median(cairn[`${r.key}:cpu`] ?? []);
    const gc = median(ganesha[`${r.key}:cpu`] ?? []);
    const t = median(limit[`${r.key}:tcp`] ?? []);
    return [r.label, r.unit, fmt(c), fmt(g), ratio(c, g), fmt(l), ratio(c, l), fmt(t), ratio(c, t), fmt(cc), fmt(gc), ratio(cc, gc)];
  });
  return markdownTable(
    `medians of ${rounds} rounds (alternating order), TCP congestion control ${cc}; higher is better everywhere; "TCP limit" = one loopback TCP connection streaming the same bytes with no NFS (sendfile to read(2); read(2) to pwrite); "per server CPU-s" = the unit per second of CPU the server process used`,
    head,
    lines,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, quick: { type: 'boolean' }, keep: { type: 'boolean' }, cc: { type: 'string' } } });
  if (process.getuid?.() !== 0) throw new Error('the NFS benchmark needs root (network namespaces, open_by_handle_at)');
  const rounds = Number(values.rounds ?? 3);
  const sizes = values.quick ? QUICK : FULL;
  const bench = new Bench(sizes, wantedCongestion(values.cc));
  const onSignal = () => void bench.cleanup(false).finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let results;
  try {
    await bench.setup();
    results = await runRounds(rounds, {
      cairn: () => bench.cairn(),
      ganesha: () => bench.ganesha(),
      limit: { label: 'fio', run: () => bench.fio() },
    });
  } finally {
    await bench.cleanup(values.keep ?? false);
  }
  process.stdout.write(`${table(results.cairn, results.ganesha, results.limit, rounds, bench.cc)}\n`);
}

await main();

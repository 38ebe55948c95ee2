/**
 * A private Gluster "appliance" for tests: one glusterd in its own network
 * namespace (reached from the test process over a veth pair, so libgfapi
 * in this process can talk to it) and its own mount namespace (so its
 * /run/gluster pid files and sockets, /run/glusterd.socket and
 * /var/log/glusterfs never meet another engineer's glusterd), with
 * loop-file XFS bricks prepared by disks.ts.
 *
 * Everything is undone in t.after, also when the test fails: every
 * process in the namespace is killed by pid, bricks unmounted, loop
 * devices detached, the namespace (and with it the veth) deleted.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { GlusterCli } from '../../../src/pool/gluster/cli.js';
import { createLoopDisk, detachLoopDisk, prepareBrick, releaseBrick, type Brick } from '../../../src/pool/gluster/disks.js';
import { GlusterVolumes } from '../../../src/pool/gluster/volumes.js';
import { killAndWait } from '../../helpers/procs.js';
export { killAndWait };

const run = promisify(execFile);

/**
 * glusterd's parent: a child subreaper (prctl PR_SET_CHILD_SUBREAPER = 36;
 * SYS_prctl = 157 on x86-64) that reaps the daemonized brick processes.
 * Where PID 1 does not reap orphans (this test machine), a killed brick
 * stays a zombie, glusterd still sees its pid "running" and
 * `volume start force` never restarts it. systemd reaps on the appliance.
 */
const REAPER =
  'syscall(157, 36, 1, 0, 0, 0) == 0 or die "prctl: $!"; my $pid = fork() // die "fork: $!"; ' +
  'if (!$pid) { exec(@ARGV) or die "exec: $!" } 1 while wait() != -1;';

export interface LabBrick extends Brick {
  /** "ip:/…/brick" as Gluster names it. */
  name: string;
  loopFile: string;
}

export class GlusterLab {
  readonly cli: GlusterCli;
  readonly volumes: GlusterVolumes;
  private readonly bricks: LabBrick[] = [];

  private constructor(
    readonly netns: string,
    /** The namespace's address: brick host and volfile server. */
    readonly host: string,
    readonly dir: string,
    /** A process in glusterd's namespaces (its reaper parent). */
    readonly anchorPid: number,
  ) {
    this.cli = new GlusterCli({
      command: ['nsenter', '-t', String(anchorPid), '-m', '-n', 'gluster'],
      logFile: join(dir, 'log', 'cli.log'),
    });
    this.volumes = new GlusterVolumes(this.cli);
  }

  /** `tcpCongestion`: the namespace's TCP congestion control (default: the host's, which a new namespace inherits). */
  static async start(t: TestContext, opts: { tcpCongestion?: string } = {}): Promise<GlusterLab> {
    await reapOrphanLabs();
    const tag = randomBytes(3).toString('hex');
    const netns = `cairn-gl-${tag}`;
    const dir = await mkdtemp(join(tmpdir(), `cairn-gl-${tag}-`));
    // Whose lab this is: a test process that died without its t.after
    // (a crash in the native module) leaves it to the next start to remove.
    await writeFile(join(dir, 'owner'), String(process.pid));
    const cleanups: Array<() => Promise<unknown>> = [];
    let lab: GlusterLab | undefined;
    t.after(async () => {
      if (lab) await lab.teardown();
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // A shared mount, so that bricks mounted below it later (replace-brick)
    // propagate into glusterd's mount namespace (a slave of this one).
    await run('mount', ['--bind', dir, dir]);
    cleanups.push(() => run('umount', ['-l', dir]));
    await run('mount', ['--make-shared', dir]);

    await run('ip', ['netns', 'add', netns]);
    cleanups.push(() => run('ip', ['netns', 'del', netns]));
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    if (opts.tcpCongestion) await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', `net.ipv4.tcp_congestion_control=${opts.tcpCongestion}`]);
    const subnet = await freeSubnet();
    const hostIf = `cg${tag}h`;
    const nsIf = `cg${tag}n`;
    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    cleanups.push(() => run('ip', ['link', 'del', hostIf]));
    await run('ip', ['link', 'set', nsIf, 'netns', netns]);
    await run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await run('ip', ['-n', netns, 'addr', 'add', `${subnet}.2/24`, 'dev', nsIf]);
    await run('ip', ['-n', netns, 'link', 'set', nsIf, 'up']);

    const wd = join(dir, 'glusterd');
    const logDir = join(dir, 'log');
    await mkdir(wd, { recursive: true });
    await mkdir(logDir, { recursive: true });
    // The `virt` group profile and hooks live in glusterd's working directory.
    await cp('/var/lib/glusterd/groups', join(wd, 'groups'), { recursive: true });
    const volfile = join(dir, 'glusterd.vol');
    await writeFile(
      volfile,
      [
        'volume management',
        '    type mgmt/glusterd',
        `    option working-directory ${wd}`,
        '    option transport-type socket',
        '    option transport.socket.listen-port 24007',
        '    option ping-timeout 0',
        '    option event-threads 1',
        'end-volume',
        '',
      ].join('\n'),
    );
    const pidFile = join(dir, 'glusterd.pid');
    // ip netns exec → unshare → sh → perl (the reaper, parent of glusterd):
    // each execs the next, so the child's pid is the reaper's, a process in
    // both namespaces. Paths are passed as $1…$5, never spliced.
    const child: ChildProcess = spawn(
      'ip',
      [
        'netns', 'exec', netns,
        'unshare', '-m', '--propagation', 'slave', '--',
        'sh', '-c',
        'mount -t tmpfs tmpfs /run && mkdir /run/gluster && mount --bind "$1" /var/log/glusterfs && ' +
          'exec perl -e "$2" glusterd -N -f "$3" --log-file "$4" -p "$5"',
        'sh', logDir, REAPER, volfile, join(logDir, 'glusterd.log'), pidFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const pid = child.pid!;
    lab = new GlusterLab(netns, `${subnet}.2`, dir, pid);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`glusterd exited ${child.exitCode}: ${stderr}`);
      try {
        await lab.cli.run(['volume', 'list'], { timeoutMs: 10_000 });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    return lab;
  }

  /** A fresh loop-file XFS brick of `sizeBytes`, prepared by disks.ts. */
  async addBrick(id: string, sizeBytes = 1 << 30): Promise<LabBrick> {
    const loopFile = join(this.dir, `${id}.img`);
    const device = await createLoopDisk(loopFile, sizeBytes);
    try {
      const b = await prepareBrick({ device, id, dataDir: this.dir });
      const lb: LabBrick = { ...b, loopFile, name: `${this.host}:${b.brickDir}` };
      this.bricks.push(lb);
      return lb;
    } catch (err) {
      await detachLoopDisk(device).catch(() => undefined);
      throw err;
    }
  }

  /** Takes a brick prepared elsewhere (an API task) into the teardown: unmounted and detached with the others. */
  adopt(b: LabBrick): void {
    this.bricks.push(b);
  }

  /** Pids of every process in the namespace (glusterd, bricks, self-heal daemon). */
  async pids(): Promise<number[]> {
    const { stdout } = await run('ip', ['netns', 'pids', this.netns]);
    return stdout.split('\n').filter(Boolean).map(Number);
  }

  /** Makes a brick's disk vanish: kill its process, unmount, detach the loop device. */
  async destroyBrick(b: LabBrick, brickPid: number | null): Promise<void> {
    if (brickPid) await killAndWait([brickPid]);
    await releaseBrick(b);
    await detachLoopDisk(b.device).catch(() => undefined);
    await rm(b.loopFile, { force: true });
    this.bricks.splice(this.bricks.indexOf(b), 1);
  }

  private async teardown(): Promise<void> {
    // Everything but the reaper first, so that it reaps them; then the reaper.
    const pids = await this.pids().catch(() => []);
    await killAndWait(pids.filter((p) => p !== this.anchorPid));
    await killAndWait([this.anchorPid]);
    for (const b of this.bricks.reverse()) {
      await releaseBrick(b).catch(() => undefined);
      await detachLoopDisk(b.device).catch(() => undefined);
    }
  }
}

/**
 * Removes labs whose test process is gone (it crashed, so its t.after never
 * ran): their processes (by network namespace), mounts below their
 * directory, loop devices on their files, the namespace and the directory.
 */
async function reapOrphanLabs(): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const m = /^cairn-gl-([0-9a-f]{6})-/.exec(name);
    if (!m) continue;
    const dir = join(tmpdir(), name);
    const owner = Number(await readFile(join(dir, 'owner'), 'utf8').catch(() => ''));
    if (!owner || isAlive(owner)) continue;
    const netns = `cairn-gl-${m[1]}`;
    const { stdout } = await run('ip', ['netns', 'pids', netns]).catch(() => ({ stdout: '' }));
    await killAndWait(stdout.split('\n').filter(Boolean).map(Number));
    const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '');
    for (const mp of mounts.filter((x) => x === dir || x.startsWith(`${dir}/`)).sort().reverse()) await run('umount', ['-l', mp]).catch(() => undefined);
    const { stdout: loops } = await run('losetup', ['-a']).catch(() => ({ stdout: '' }));
    for (const l of loops.split('\n').filter((x) => x.includes(dir))) await detachLoopDisk(l.split(':')[0]!).catch(() => undefined);
    await run('ip', ['netns', 'del', netns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A 10.x.y.0/24 not used by any address on this host. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr']);
  for (;;) {
    const s = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!stdout.includes(` ${s}.`)) return s;
  }
}

/**
 * Three loop bricks (1 GiB by default) and a started replica-3 volume on
 * them, tuned as a VM datastore (`vm`, with sharding) or left with
 * Gluster's defaults (`general`).
 */
export async function replica3(
  lab: GlusterLab,
  name: string,
  brickSize = 1 << 30,
  profile: 'vm' | 'general' = 'vm',
): Promise<LabBrick[]> {
  const bricks: LabBrick[] = [];
  for (let i = 1; i <= 3; i++) bricks.push(await lab.addBrick(`${name}-${i}`.toLowerCase(), brickSize));
  await lab.volumes.create({ name, bricks: bricks.map((b) => b.name), replica: 3, force: true });
  if (profile === 'vm') await lab.volumes.applyVmDatastoreOptions(name);
  await lab.volumes.start(name);
  return bricks;
}

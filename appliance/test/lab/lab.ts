/**
 * The multi-appliance test lab: N "appliances" on one machine, each a set
 * of namespaces held open by one holder process, joined by veth pairs to a
 * bridge in the host namespace.
 *
 *     host ── bridge cl<tag> (10.x.y.1/24, the "client" address)
 *               ├─ veth → node1 (10.x.y.11, hostname node1)
 *               ├─ veth → node2 (10.x.y.12, hostname node2)
 *               └─ …
 *
 * Why these namespaces (measured, see FACTS.md and issue 11):
 *  - network: every node has its own address; a node's link is cut by
 *    setting its host-side veth down (packets vanish, no RST: the hard
 *    failure Gluster stalls on).
 *  - mount: glusterd's CLI socket (/run/glusterd.socket), pid files and
 *    sockets (/run/gluster), /var/lib/glusterd, /var/log/glusterfs,
 *    /var/lib/misc, /root/.ssh and /etc/hosts are bind mounts private to the
 *    node. `ip netns exec` makes a new mount namespace per call, so nodes
 *    are entered with `nsenter -t HOLDER -m -n -u` instead.
 *  - UTS: the node's hostname, which Gluster uses for its own bricks.
 *  Processes share the host's PID space: a node's processes are found by
 *  their mount namespace (/proc/PID/ns/mnt) and killed by pid, never by name.
 *
 * Bricks: one loop-file XFS per node, mounted inside the node's mount
 * namespace only (so no brick mount is ever visible on the host), with an
 * autoclear loop device: when the node's last process dies, the namespace
 * goes, the filesystem is unmounted and the loop device freed. Teardown
 * still detaches whatever loop device is left on the node's image.
 *
 * /etc/hosts inside every node names all nodes and the host ("labhost").
 * Host hooks are not copied into /var/lib/glusterd (Debian's Samba hooks
 * edit host files) except gsync-create (geo-replication's push-pem); the
 * `groups` profiles are.
 *
 * State of a running lab is written to DIR/lab.json, so the shell CLI
 * (cli.ts: `node appliance/dist/test/lab/cli.js up 3` / `down`) and tests
 * tear down the same way: `Lab.down(dir)` kills by pid, deletes veths and the
 * bridge, detaches loop devices and removes DIR; every step tolerates what
 * is already gone.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GlusterCli } from '../../src/pool/gluster/cli.js';
import { killAndWait } from '../helpers/procs.js';
export { killAndWait };

const run = promisify(execFile);
/** The checkout this file runs from (appliance/dist/test/lab/lab.js → four levels up). */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** The PATH every process inside a node gets (with `env -i`). */
export const NODE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * glusterd's own volfile for lab nodes: Debian's, plus a TCP user timeout
 * on glusterd's peer connections. Without it, after a hard failure (link
 * cut, no RST) every cluster-wide CLI operation (`volume status`, `heal
 * info`) waits on the dead peer's lock reply until TCP gives up (many
 * minutes, measured: `volume status` still hung after 60 s); with it the
 * peer is declared disconnected after ~10 s and operations proceed on the
 * survivors. Management `ping-timeout` stays 0 as in Debian (glusterd's
 * ping timer gives false disconnects on loaded machines).
 */
export const GLUSTERD_VOL = [
  'volume management',
  '    type mgmt/glusterd',
  '    option working-directory /var/lib/glusterd',
  '    option transport-type socket',
  '    option transport.socket.keepalive-time 10',
  '    option transport.socket.keepalive-interval 2',
  '    option transport.socket.read-fail-log off',
  '    option transport.socket.listen-port 24007',
  '    option transport.tcp-user-timeout 10',
  '    option ping-timeout 0',
  '    option event-threads 1',
  '    option max-port 60999',
  'end-volume',
  '',
].join('\n');

export interface LabNodeState {
  name: string;
  ip: string;
  /** The holder process: its namespaces are the node's. */
  holderPid: number;
  /** Host side of the node's veth pair. */
  hostIf: string;
  dir: string;
  /** Loop-file XFS image, mounted at brickRoot inside the node. */
  image: string;
  brickRoot: string;
  glusterdPid?: number;
}

export interface LabState {
  dir: string;
  tag: string;
  bridge: string;
  subnet: string;
  hostIp: string;
  nodes: LabNodeState[];
}

export interface LabOptions {
  /** Size of each node's brick filesystem (sparse), default 1 GiB. */
  brickBytes?: number;
  /** Parent of the lab directory, default the temp directory. */
  parent?: string;
  /**
   * A private /tmp per node (NODE_DIR/tmp; the lab directory stays
   * reachable at its path through a bind mount when it lies under /tmp).
   * glusterd writes a temporary client volfile at the fixed path
   * /tmp/VOLUME.tcp-fuse.vol while it commits an add-brick that raises the
   * replica count; with the host's /tmp shared, two nodes' glusterds wrote
   * it at once and one failed the commit ("failed to create volfile
   * /tmp/cairn-state.tcp-fuse.vol" → "Commit failed on node3"), leaving
   * that node's copy of the volume at the same version with other content:
   * the next newcomer was then "Peer Rejected" (cksum mismatch) and read
   * the state volume with EIO. Off by default: tests that hand host /tmp
   * paths to node processes (bind mounts of their temp dirs) need /tmp
   * shared.
   */
  privateTmp?: boolean;
}

/** One appliance of the lab. */
export class LabNode {
  readonly cli: GlusterCli;
  constructor(readonly state: LabNodeState) {
    this.cli = new GlusterCli({ command: [...this.enter(), 'gluster'], logFile: join(state.dir, 'log', 'cli.log'), timeoutMs: 60_000 });
  }
  get name(): string {
    return this.state.name;
  }
  get ip(): string {
    return this.state.ip;
  }
  /** argv prefix that runs a command inside the node with a clean environment. */
  enter(): string[] {
    return ['nsenter', '-t', String(this.state.holderPid), '-m', '-n', '-u', '--', 'env', '-i', `PATH=${NODE_PATH}`, 'HOME=/root'];
  }
  /** Runs a command inside the node (argument array, no shell). */
  async exec(argv: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
    const [file, ...rest] = [...this.enter(), ...argv];
    return run(file!, rest, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 });
  }
  /** A brick directory on the node's XFS, as Gluster names it ("node1:/…"). */
  brick(sub: string): string {
    return `${this.state.name}:${join(this.state.brickRoot, sub)}`;
  }
  /** Pids of every process in the node's mount namespace (the holder included). */
  async pids(): Promise<number[]> {
    return pidsInMountNs(this.state.holderPid);
  }
  /** Pids of the node's processes other than the holder. */
  async workerPids(): Promise<number[]> {
    return (await this.pids()).filter((p) => p !== this.state.holderPid);
  }
  /** Cuts the node's link: packets vanish in both directions (no RST). */
  async cutLink(): Promise<void> {
    await run('ip', ['link', 'set', this.state.hostIf, 'down']);
  }
  async restoreLink(): Promise<void> {
    await run('ip', ['link', 'set', this.state.hostIf, 'up']);
  }
  /** Kills every process of the node except the holder (its namespaces stay). */
  async killAll(): Promise<void> {
    await killAndWait(await this.workerPids());
    this.state.glusterdPid = undefined;
  }
  /** Starts glusterd in the node (again) and waits until its CLI answers. */
  async startGlusterd(): Promise<void> {
    const volfile = join(this.state.dir, 'glusterd.vol');
    await writeFile(volfile, GLUSTERD_VOL);
    const [file, ...rest] = [...this.enter(), 'glusterd', '-N', '-f', volfile, '--log-file', '/var/log/glusterfs/glusterd.log'];
    const child = spawn(file!, rest, { stdio: 'ignore', detached: true });
    child.unref();
    // nsenter and env exec, so the child's pid is glusterd's.
    this.state.glusterdPid = child.pid;
    let exited: number | null = null;
    child.on('exit', (code) => (exited = code ?? -1));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== null) throw new Error(`glusterd on ${this.name} exited with ${exited}; see ${join(this.state.dir, 'log', 'glusterd.log')}`);
      try {
        await this.cli.run(['volume', 'list'], { timeoutMs: 10_000 });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(300);
      }
    }
  }
  /**
   * Starts sshd in the node on `port` (its own network namespace, so any
   * port is free) with a host key and authorized_keys under the node's
   * private /root/.ssh. sshd daemonizes inside the node and is stopped
   * with the node's other processes.
   */
  async startSshd(port: number): Promise<void> {
    await this.exec(['mkdir', '-p', '/run/sshd']);
    await this.exec(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/root/.ssh/hostkey']);
    await this.exec(['/usr/sbin/sshd', '-p', String(port), '-h', '/root/.ssh/hostkey', '-o', 'PidFile=/run/sshd.pid', '-o', 'UsePAM=no', '-o', 'PermitRootLogin=prohibit-password', '-E', '/var/log/glusterfs/sshd.log']);
  }

  /** Lets root of `from` ssh into this node as root (key made on `from` if needed). */
  async authorizeRootOf(from: LabNode, port: number): Promise<void> {
    await from.exec(['sh', '-c', 'test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519']);
    const pub = await readFile(join(from.state.dir, 'ssh', 'id_ed25519.pub'), 'utf8');
    await writeFile(join(this.state.dir, 'ssh', 'authorized_keys'), pub, { mode: 0o600, flag: 'a' });
    await from.exec(['ssh', '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'BatchMode=yes', `root@${this.name}`, 'true'], 20_000);
  }

  /**
   * argv prefix that enters the node's namespaces but keeps the caller's
   * environment (for services that set their own, like SambaService and
   * CtdbService with `commandPrefix`). nsenter execs, so a spawned child's
   * pid is the program's own.
   */
  nsPrefix(): string[] {
    return ['nsenter', '-t', String(this.state.holderPid), '-m', '-n', '-u', '--'];
  }

  /**
   * Mounts a Gluster volume through FUSE inside the node only, at `dir`
   * (created). The glusterfs client lives in the node's mount namespace and
   * dies with the node's processes.
   */
  async mountVolume(volume: string, dir: string, server = this.name): Promise<void> {
    await mkdir(dir, { recursive: true });
    await this.exec(['mount', '-t', 'glusterfs', '-o', `log-file=/var/log/glusterfs/fuse-${volume}.log`, `${server}:/${volume}`, dir], 60_000);
  }

  /**
   * Bind-mounts the host directory `src` (created) on `dst` inside the node
   * only (`dst` is created in the node if missing), e.g. a private
   * /etc/ctdb per node for daemons with compiled-in paths.
   */
  async bindMount(src: string, dst: string): Promise<void> {
    await mkdir(src, { recursive: true });
    await this.exec(['mkdir', '-p', dst]);
    await this.exec(['mount', '--bind', src, dst]);
  }

  /**
   * The hard failure: the link is cut first, then every process of the node
   * but the holder is killed (by mount namespace). Returns when they are gone.
   */
  async failHard(): Promise<void> {
    await this.cutLink();
    await this.killAll();
  }

  /**
   * Spawns a long-running command inside the node (detached, stopped by
   * pid at teardown with the rest of the node's processes).
   */
  spawn(argv: string[]) {
    const [file, ...rest] = [...this.enter(), ...argv];
    return spawn(file!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

export class Lab {
  readonly nodes: LabNode[];
  private constructor(readonly state: LabState) {
    this.nodes = state.nodes.map((n) => new LabNode(n));
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in the lab`);
    return n;
  }

  /**
   * Builds `count` nodes, each running glusterd with a mounted brick
   * filesystem. On any failure, everything built so far is torn down
   * before the error is thrown.
   */
  static async up(count: number, opts: LabOptions = {}): Promise<Lab> {
    if (!Number.isInteger(count) || count < 1 || count > 8) throw new Error(`lab size must be 1–8, not ${count}`);
    const tag = randomBytes(3).toString('hex');
    const dir = await mkdtemp(join(opts.parent ?? tmpdir(), `cairn-lab-${tag}-`));
    const subnet = await freeSubnet();
    const state: LabState = { dir, tag, bridge: `cl${tag}`, subnet, hostIp: `${subnet}.1`, nodes: [] };
    const save = () => writeFile(join(dir, 'lab.json'), JSON.stringify(state, null, 2));
    try {
      await save();
      await run('ip', ['link', 'add', state.bridge, 'type', 'bridge']);
      await save();
      await run('ip', ['addr', 'add', `${state.hostIp}/24`, 'dev', state.bridge]);
      await run('ip', ['link', 'set', state.bridge, 'up']);
      const names = Array.from({ length: count }, (_, i) => `node${i + 1}`);
      const hosts = [
        '127.0.0.1 localhost',
        `${state.hostIp} labhost`,
        ...names.map((n, i) => `${subnet}.${11 + i} ${n}`),
        '',
      ].join('\n');
      for (let i = 0; i < count; i++) {
        const node = await buildNode(state, names[i]!, `${subnet}.${11 + i}`, hosts, opts.brickBytes ?? 1 << 30, save, opts.privateTmp ?? false);
        state.nodes.push(node);
        await save();
      }
      const lab = new Lab(state);
      await Promise.all(lab.nodes.map((n) => n.startGlusterd()));
      await save();
      return lab;
    } catch (err) {
      await Lab.down(dir).catch(() => undefined);
      throw err;
    }
  }

  /** Re-attaches to a lab built by another process (the shell CLI). */
  static async open(dir: string): Promise<Lab> {
    return new Lab(JSON.parse(await readFile(join(dir, 'lab.json'), 'utf8')) as LabState);
  }

  /**
   * An address on the lab's subnet that no node or host uses (for floating
   * addresses): `index` 0.. maps to .101…; prefix length 24.
   */
  spareAddress(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index > 100) throw new Error(`spare address index ${index} out of range`);
    return `${this.state.subnet}.${101 + index}`;
  }

  async save(): Promise<void> {
    await writeFile(join(this.state.dir, 'lab.json'), JSON.stringify(this.state, null, 2));
  }

  /** Tears the lab down; see Lab.down. */
  async down(): Promise<void> {
    await this.save().catch(() => undefined);
    await Lab.down(this.state.dir);
  }

  /**
   * Tears down the lab recorded in DIR/lab.json: every process of every
   * node (by mount namespace, then by pid), veths, the bridge, loop devices
   * of the nodes' images, and DIR itself. Safe to call twice.
   */
  static async down(dir: string): Promise<void> {
    let state: LabState;
    try {
      state = JSON.parse(await readFile(join(dir, 'lab.json'), 'utf8')) as LabState;
    } catch {
      await rm(dir, { recursive: true, force: true });
      return;
    }
    for (const n of state.nodes) {
      // By network namespace too: gsyncd runs its workers under
      // `unshare -m` (a mount namespace of their own) in the node's network.
      const pids = [...new Set([...(await pidsInNetNs(n.holderPid).catch(() => [])), ...(await pidsInMountNs(n.holderPid).catch(() => []))])];
      await killAndWait(pids.length ? pids : [n.holderPid]);
    }
    for (const n of state.nodes) {
      await run('ip', ['link', 'del', n.hostIf]).catch(() => undefined);
      await detachImage(n.image);
    }
    await run('ip', ['link', 'del', state.bridge]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function buildNode(
  state: LabState,
  name: string,
  ip: string,
  hosts: string,
  brickBytes: number,
  save: () => Promise<void>,
  privateTmp = false,
): Promise<LabNodeState> {
  const dir = join(state.dir, name);
  const paths = {
    glusterd: join(dir, 'glusterd'),
    log: join(dir, 'log'),
    misc: join(dir, 'misc'),
    ssh: join(dir, 'ssh'),
    hosts: join(dir, 'hosts'),
    brickRoot: join(dir, 'brick'),
    image: join(dir, 'brick.img'),
  };
  for (const d of [paths.glusterd, paths.log, paths.misc, paths.ssh, paths.brickRoot]) await mkdir(d, { recursive: true });
  // LabOptions.privateTmp: NODE_DIR/tmp becomes the node's /tmp, with the lab directory (and the checkout) bound back at their paths.
  const tmpDir = privateTmp ? join(dir, 'tmp') : '';
  const labUnderTmp = privateTmp && state.dir.startsWith('/tmp/') ? state.dir.slice('/tmp/'.length) : '';
  if (tmpDir) await mkdir(join(tmpDir, labUnderTmp), { recursive: true });
  // The checkout too (cairnd.js, node_modules), when it lives under /tmp (a CI clone).
  const repoUnderTmp = privateTmp && REPO.startsWith('/tmp/') ? REPO.slice('/tmp/'.length) : '';
  if (repoUnderTmp) await mkdir(join(tmpDir, repoUnderTmp), { recursive: true });
  await cp('/var/lib/glusterd/groups', join(paths.glusterd, 'groups'), { recursive: true }).catch(() => undefined);
  // Only the geo-replication hook (push-pem refuses to run without it);
  // never the Samba hooks, which edit the host's smb.conf.
  await cp('/var/lib/glusterd/hooks/1/gsync-create', join(paths.glusterd, 'hooks', '1', 'gsync-create'), { recursive: true }).catch(() => undefined);
  await writeFile(paths.hosts, hosts);
  await run('truncate', ['-s', String(brickBytes), paths.image]);
  await run('mkfs.xfs', ['-q', '-f', '-i', 'size=512', paths.image]);

  // The holder: sets up the node's mounts in a fresh mount namespace (slave
  // of the host's, so nothing it mounts leaks out), then sleeps. Paths are
  // passed as positional parameters, never spliced into the script.
  const script = [
    'set -e',
    'mount -t tmpfs tmpfs /run',
    'mkdir -p /run/gluster /run/lock',
    'mount --bind "$1" /var/lib/glusterd',
    'mount --bind "$2" /var/log/glusterfs',
    'mount --bind "$3" /var/lib/misc',
    'mkdir -p /root/.ssh && mount --bind "$4" /root/.ssh',
    'mount --bind "$5" /etc/hosts',
    'mount -o loop,noatime "$6" "$7"',
    // After the brick mount (rbind carries it along): losetup fails through the covered /tmp.
    'if [ -n "$9" ]; then',
    '  if [ -n "${11}" ]; then mount --rbind "${10}" "$9/${11}"; fi',
    '  if [ -n "${13}" ]; then mount --rbind "${12}" "$9/${13}"; fi',
    '  mount --rbind "$9" /tmp',
    'fi',
    'hostname "$8"',
    'echo ready',
    'exec sleep infinity',
  ].join('\n');
  const holder = spawn(
    'unshare',
    ['--mount', '--net', '--uts', '--propagation', 'slave', '--', 'sh', '-c', script, 'holder',
      paths.glusterd, paths.log, paths.misc, paths.ssh, paths.hosts, paths.image, paths.brickRoot, name, tmpDir, state.dir, labUnderTmp, REPO, repoUnderTmp],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const holderPid = holder.pid!;
  const hostIf = `cl${state.tag}${name.replace('node', 'n')}`.slice(0, 15);
  const node: LabNodeState = { name, ip, holderPid, hostIf, dir, image: paths.image, brickRoot: paths.brickRoot };
  // Record the holder at once so a failure below still tears it down.
  state.nodes.push(node);
  await save();
  state.nodes.pop();
  let err = '';
  holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: holder not ready: ${err}`)), 30_000);
    holder.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    holder.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: holder exited ${code}: ${err}`));
    });
  });
  holder.stdout!.destroy();
  holder.stderr!.destroy();
  holder.unref();

  const nsIf = `${hostIf.slice(0, 13)}x`;
  await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  await run('ip', ['link', 'set', nsIf, 'netns', String(holderPid)]);
  await run('ip', ['link', 'set', hostIf, 'master', state.bridge]);
  await run('ip', ['link', 'set', hostIf, 'up']);
  const inNs = (args: string[]) => run('nsenter', ['-t', String(holderPid), '-n', '--', 'ip', ...args]);
  await inNs(['link', 'set', 'lo', 'up']);
  await inNs(['link', 'set', nsIf, 'name', 'eth0']);
  await inNs(['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await inNs(['link', 'set', 'eth0', 'up']);
  return node;
}

/** Pids whose mount namespace is the one of `holderPid` (holder included). */
export async function pidsInMountNs(holderPid: number): Promise<number[]> {
  const ns = await readlink(`/proc/${holderPid}/ns/mnt`);
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if ((await readlink(`/proc/${e}/ns/mnt`)) === ns) out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Pids whose network namespace is the one of `holderPid` (holder included). */
export async function pidsInNetNs(holderPid: number): Promise<number[]> {
  const ns = await readlink(`/proc/${holderPid}/ns/net`);
  // A recycled holder pid in the host's namespace must never mean "everything".
  if (ns === (await readlink('/proc/self/ns/net'))) return [];
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if ((await readlink(`/proc/${e}/ns/net`)) === ns) out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

async function detachImage(image: string): Promise<void> {
  // The autoclear device goes with the node's mount namespace; give the
  // kernel a moment, then detach whatever is left.
  for (let i = 0; i < 20; i++) {
    const { stdout } = await run('losetup', ['-j', image]).catch(() => ({ stdout: '' }));
    const devs = stdout.split('\n').filter(Boolean).map((l) => l.split(':')[0]!);
    if (devs.length === 0) return;
    for (const d of devs) await run('losetup', ['-d', d]).catch(() => undefined);
    await sleep(100);
  }
}

/** A 10.x.y.0/24 not used by any address on this host. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr']);
  for (;;) {
    const s = `10.${150 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!stdout.includes(` ${s}.`)) return s;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A full cairnd (`cairnd run`) inside a lab node, its API on the node's address. */
export interface LabCairnd {
  node: LabNode;
  dataDir: string;
  /** e.g. http://10.x.y.11:8080 */
  url: string;
  pid: number;
  /** The last lines cairnd printed (JSON logs and stderr). */
  log(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 15 s: closing gfapi takes ~10 s). */
  stop(graceMs?: number): Promise<void>;
}

export interface LabCairndOptions {
  /** Default: NODE_DIR/cairn (on the host's filesystem, seen by the node). */
  dataDir?: string;
  /** API port on the node's address, default 8080 (each node has its own network namespace). */
  port?: number;
  /** NFS port, default 2049. */
  nfsPort?: number;
  /** More `cairnd run` flags. */
  args?: string[];
  timeoutMs?: number;
}

/**
 * Starts `cairnd run --data-dir DIR --host NODE_IP` inside `node` (its
 * glusterd, hostname and /etc/hosts are the node's) and waits until its
 * API listens. Stopped by pid with the node's other processes at teardown.
 */
export async function startCairndOn(node: LabNode, opts: LabCairndOptions = {}): Promise<LabCairnd> {
  const { CAIRND } = await import('../helpers/cairnd.js');
  const dataDir = opts.dataDir ?? join(node.state.dir, 'cairn');
  await mkdir(dataDir, { recursive: true });
  const port = opts.port ?? 8080;
  const proc = node.spawn([
    process.execPath, CAIRND, 'run', '--data-dir', dataDir, '--host', node.ip, '--port', String(port),
    '--nfs-port', String(opts.nfsPort ?? 2049), '--smb-port', '0', '--no-rpcbind', ...(opts.args ?? []),
  ]);
  const lines: string[] = [];
  // Every line also goes to NODE_DIR/log/cairnd.log (the node's /var/log/glusterfs, kept by CAIRN_LAB_LOGS).
  const full = createWriteStream(join(node.state.dir, 'log', 'cairnd.log'), { flags: 'a' });
  full.on('error', () => undefined);
  const keep = (l: string) => {
    lines.push(l);
    if (lines.length > 200) lines.shift();
    full.write(`${l}\n`);
  };
  let exited: number | null | undefined;
  proc.on('exit', (code, signal) => {
    exited = code ?? -1;
    keep(`cairnd exited: code ${code} signal ${signal}`);
    full.end();
  });
  proc.stderr!.on('data', (d: Buffer) => d.toString().split('\n').filter(Boolean).forEach(keep));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cairnd on ${node.name} did not listen:\n${lines.join('\n')}`)), opts.timeoutMs ?? 60_000);
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        keep(line);
        if (line.includes('"cairnd listening"')) {
          clearTimeout(timer);
          resolve(`http://${node.ip}:${port}`);
        }
      }
    });
    proc.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`cairnd on ${node.name} exited before listening:\n${lines.join('\n')}`));
    });
  });
  return {
    node,
    dataDir,
    url,
    pid: proc.pid!,
    log: () => lines.join('\n'),
    async stop(graceMs = 15_000) {
      if (exited !== undefined) return;
      proc.kill('SIGTERM');
      const deadline = Date.now() + graceMs;
      while (exited === undefined && Date.now() < deadline) await sleep(100);
      if (exited === undefined) await killAndWait([proc.pid!]);
    },
  };
}

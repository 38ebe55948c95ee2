/**
 * The only code that runs CTDB: ctdbd (started and supervised here) and the
 * `ctdb` tool (status, ip, recover, reloadnodes, reloadips, shutdown) — always
 * execFile/spawn with argument arrays, a minimal environment and a timeout.
 *
 * CTDB clusters Samba across appliances: it replicates Samba's databases
 * (locking, sessions, passdb, secrets, idmap) between the appliances' smbd
 * and moves floating "public" addresses from an appliance that dies to a
 * surviving one (ctdb(7) "PUBLIC ADDRESSES"). Clients connect to a public
 * address, never to an appliance's own one.
 *
 * What this module writes for an appliance (ctdb.conf(5), ctdb(7)):
 *  - ctdb.conf: `[cluster] cluster lock` = a file on the small replicated
 *    Gluster lock volume that every appliance mounts (FUSE); only the leader
 *    holds its fcntl lock, so a partitioned minority can never also run a
 *    recovery (split brain). `node address` = this appliance's private
 *    address; database directories and the log under the data dir.
 *  - nodes: every appliance's private address, one a line. The line number
 *    is the node's PNN: the list must be identical, in the same order, on
 *    every appliance, and a removed appliance's line is commented out
 *    (`#addr`), never deleted, until every node has reloaded it.
 *  - public_addresses: `ADDR/PREFIX IFACE[,IFACE]` per floating address.
 *  - ctdb.tunables: liveness timing (below).
 *  - events/legacy: links to the Debian event scripts this product needs —
 *    00.ctdb, 01.reclock, 05.system and 10.interface (which adds and removes
 *    the public addresses on takeip/releaseip). 50.samba is deliberately
 *    not enabled: cairnd starts smbd itself, after ctdbd is healthy.
 *
 * Where ctdbd looks: its compiled-in paths only — /etc/ctdb (ctdb.conf,
 * nodes, public_addresses, events/, functions), /run/ctdb (socket, pid
 * file) and /var/lib/ctdb. CTDB_BASE is honoured only in CTDB's test mode
 * (CTDB_TEST_MODE, ctdb/common/path.c), which also turns off ctdbd's checks
 * of which public addresses the kernel really holds; measured here: after a
 * failover the survivor re-ran takeip for an address it already had
 * ("Address already assigned"), the event failed and the node went
 * unhealthy. So Cairn never uses test mode. The databases, the log and the
 * event scripts' state go under the data dir (ctdb.conf options,
 * CTDB_SCRIPT_VARDIR); the files cairnd writes go to `configDir` (default
 * /etc/ctdb). Several ctdbd on one machine (the test lab) each get a mount
 * namespace in which their configDir, runDir and a private directory are
 * bind-mounted on /etc/ctdb, /run/ctdb and /var/lib/ctdb.
 *
 * Liveness: a node is declared dead after KeepaliveLimit missed keepalives
 * sent every KeepaliveInterval seconds (ctdb-tunables(7)); Debian's 5 × 5 s
 * means 25 s before addresses move. Cairn uses 1 s × 5: a hard failure
 * moves the addresses in about 5–10 s, in line with the Gluster timeouts
 * (client.tcp-user-timeout 5) the data volumes use. If the dead node was the
 * leader, a new one is elected (`leader timeout`, 5 s) and must take the
 * cluster lock first, which Gluster releases only when the bricks notice
 * the dead client (CTDB_LOCK_VOLUME_OPTIONS bound that).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import { writeFileIfChanged } from './render.js';

// ------------------------------------------------------------------ types --

export interface CtdbPublicAddress {
  /** IPv4 or IPv6 address clients connect to. */
  address: string;
  /** Prefix length of the address's network (24 for a /24). */
  prefix: number;
  /** Interfaces it may be placed on (the same name on every appliance). */
  interfaces: string[];
}

/** What CTDB is asked to run on this appliance. */
export interface CtdbDesired {
  /** Every appliance's private address; the index is the node's PNN. Null = a removed node's slot. */
  nodes: (string | null)[];
  /** This appliance's private address (one of `nodes`). */
  nodeAddress: string;
  publicAddresses: CtdbPublicAddress[];
  /**
   * Absolute path of the lock file on the mounted lock volume. It must be
   * the same string on every node: ctdbd compares it with the leader's and
   * shuts down on a mismatch ("Recovery lock configuration inconsistent").
   */
  clusterLock: string;
  logLevel?: 'ERROR' | 'WARNING' | 'NOTICE' | 'INFO' | 'DEBUG';
  /**
   * ctdbd runs with real-time priority (default true, as CTDB recommends:
   * keepalives must not starve under load). Tests on a shared machine turn
   * it off.
   */
  realtime?: boolean;
  /** ctdb-tunables(7) overrides, added to CTDB_TUNABLES. */
  tunables?: Record<string, number>;
}

export interface CtdbProblem {
  path: string;
  message: string;
}

/** One line of `ctdb status -X` (the node map). */
export interface CtdbNode {
  pnn: number;
  address: string;
  disconnected: boolean;
  unknown: boolean;
  banned: boolean;
  disabled: boolean;
  unhealthy: boolean;
  stopped: boolean;
  inactive: boolean;
  partiallyOnline: boolean;
  thisNode: boolean;
  /** No flag set: the node takes part and may host public addresses. */
  ok: boolean;
}

export interface CtdbStatus {
  nodes: CtdbNode[];
  thisPnn: number;
  /** PNN of the leader (recovery master), or null while there is none. */
  leader: number | null;
  /** Every connected node is OK. */
  allOk: boolean;
}

/** One line of `ctdb ip -v -X`. */
export interface CtdbIp {
  address: string;
  /** PNN hosting it, or -1 when nobody does. */
  pnn: number;
  activeInterface: string | null;
  availableInterfaces: string[];
  configuredInterfaces: string[];
}

export type CtdbErrorCode = 'CTDB_NOT_RUNNING' | 'CTDB_TIMEOUT' | 'CTDB_TOOL_FAILED' | 'CTDB_BAD_OUTPUT' | 'CTDB_START_FAILED' | 'CTDB_BAD_CONFIG';

export class CtdbError extends Error {
  constructor(
    readonly code: CtdbErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CtdbError';
  }
}

// ------------------------------------------------------------------ paths --

export interface CtdbPaths {
  /** Where cairnd writes ctdb.conf, nodes, public_addresses, ctdb.tunables, events/ (ctdbd reads them as /etc/ctdb). */
  etcDir: string;
  /** Holds ctdbd's pid file and socket (ctdbd sees it as /run/ctdb). */
  runDir: string;
  /** ctdbd's socket as ctdbd, smbd and the ctdb tool see it (`ctdbd socket` in smb.conf). */
  socket: string;
  varDir: string;
  volatileDir: string;
  persistentDir: string;
  stateDir: string;
  /** Event scripts' state (CTDB_SCRIPT_VARDIR). */
  scriptsDir: string;
  logFile: string;
}

/** ctdbd's compiled-in directories (Debian). */
export const CTDB_SYSTEM_ETC = '/etc/ctdb';
export const CTDB_SYSTEM_RUN = '/run/ctdb';

export function ctdbPaths(dataDir: string, opts: { configDir?: string; runDir?: string } = {}): CtdbPaths {
  const root = resolve(dataDir);
  const varDir = join(root, 'var');
  return {
    etcDir: resolve(opts.configDir ?? CTDB_SYSTEM_ETC),
    runDir: resolve(opts.runDir ?? CTDB_SYSTEM_RUN),
    socket: join(CTDB_SYSTEM_RUN, 'ctdbd.socket'),
    varDir,
    volatileDir: join(varDir, 'volatile'),
    persistentDir: join(varDir, 'persistent'),
    stateDir: join(varDir, 'state'),
    scriptsDir: join(varDir, 'scripts'),
    logFile: join(root, 'log', 'ctdb.log'),
  };
}

/** Debian's event scripts that Cairn enables (see the header). */
export const CTDB_EVENT_SCRIPTS = ['00.ctdb', '01.reclock', '05.system', '10.interface'];
const DEBIAN_EVENTS = '/usr/share/ctdb/events/legacy';
const DEBIAN_FUNCTIONS = '/etc/ctdb/functions';
const DEBIAN_NOTIFY = '/etc/ctdb/notify.sh';

/** Liveness timing, see the header. */
export const CTDB_TUNABLES: Readonly<Record<string, number>> = {
  KeepaliveInterval: 1,
  KeepaliveLimit: 5,
};

/**
 * Options for the Gluster lock volume (set by whoever creates it, through
 * pool/gluster): the leader's fcntl lock must be released soon after its
 * appliance dies hard, or a new leader cannot take the cluster lock. The
 * bricks notice a dead client through the server-side TCP user timeout and
 * keepalives; the survivors' own FUSE clients through ping/TCP timeouts.
 */
export const CTDB_LOCK_VOLUME_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['network.ping-timeout', '5'],
  ['client.tcp-user-timeout', '5'],
  ['server.tcp-user-timeout', '5'],
  ['server.keepalive-time', '2'],
  ['server.keepalive-interval', '1'],
  ['server.keepalive-count', '3'],
  ['performance.write-behind', 'off'],
  ['performance.open-behind', 'off'],
];

// ------------------------------------------------------------- generation --

export interface CtdbFiles {
  'ctdb.conf': string;
  nodes: string;
  public_addresses: string;
  'ctdb.tunables': string;
}

const IFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const HEADER = '# Written by cairnd; edits here are overwritten.\n';

/**
 * CtdbDesired → the text of CTDB's files. Pure. Anything that would make
 * ctdbd refuse to start or the nodes disagree is a problem and no files.
 */
export function generateCtdb(d: CtdbDesired, paths: CtdbPaths): { files: CtdbFiles | null; problems: CtdbProblem[] } {
  const problems: CtdbProblem[] = [];
  const seen = new Set<string>();
  d.nodes.forEach((n, i) => {
    if (n === null) return;
    if (isIP(n) === 0) problems.push({ path: `nodes.${i}`, message: `"${n}" is not an IP address` });
    else if (seen.has(n)) problems.push({ path: `nodes.${i}`, message: `${n} is listed twice` });
    seen.add(n);
  });
  if (seen.size === 0) problems.push({ path: 'nodes', message: 'at least one node is needed' });
  if (!seen.has(d.nodeAddress)) problems.push({ path: 'nodeAddress', message: `${d.nodeAddress} is not one of the nodes` });
  const pub = new Set<string>();
  d.publicAddresses.forEach((p, i) => {
    const family = isIP(p.address);
    if (family === 0) problems.push({ path: `publicAddresses.${i}.address`, message: `"${p.address}" is not an IP address` });
    else if (seen.has(p.address)) problems.push({ path: `publicAddresses.${i}.address`, message: `${p.address} is a node's private address` });
    else if (pub.has(p.address)) problems.push({ path: `publicAddresses.${i}.address`, message: `${p.address} is listed twice` });
    pub.add(p.address);
    if (!Number.isInteger(p.prefix) || p.prefix < 1 || p.prefix > (family === 6 ? 128 : 32)) {
      problems.push({ path: `publicAddresses.${i}.prefix`, message: `prefix ${p.prefix} is not valid` });
    }
    if (p.interfaces.length === 0) problems.push({ path: `publicAddresses.${i}.interfaces`, message: 'at least one interface is needed' });
    p.interfaces.forEach((x, j) => {
      if (!IFACE.test(x)) problems.push({ path: `publicAddresses.${i}.interfaces.${j}`, message: `"${x}" is not an interface name` });
    });
  });
  if (!d.clusterLock.startsWith('/') || /[\r\n\s]/.test(d.clusterLock) || d.clusterLock.startsWith('!')) {
    problems.push({ path: 'clusterLock', message: 'the cluster lock must be an absolute file path without white space' });
  }
  const tunables = { ...CTDB_TUNABLES, ...(d.tunables ?? {}) };
  for (const [k, v] of Object.entries(tunables)) {
    if (!/^[A-Za-z]+$/.test(k) || !Number.isInteger(v) || v < 0) problems.push({ path: `tunables.${k}`, message: 'tunables are names with whole, non-negative values' });
  }
  if (problems.length > 0) return { files: null, problems };

  const conf = [
    HEADER.trimEnd(),
    '[logging]',
    `\tlocation = file:${paths.logFile}`,
    `\tlog level = ${d.logLevel ?? 'NOTICE'}`,
    '[cluster]',
    `\tcluster lock = ${d.clusterLock}`,
    `\tnode address = ${d.nodeAddress}`,
    '[database]',
    `\tvolatile database directory = ${paths.volatileDir}`,
    `\tpersistent database directory = ${paths.persistentDir}`,
    `\tstate database directory = ${paths.stateDir}`,
    ...(d.realtime === false ? ['[legacy]', '\trealtime scheduling = false'] : []),
    '',
  ].join('\n');
  // A removed node keeps its line, commented out, so PNNs do not shift (ctdb(7) "REMOVING NODES").
  const nodes = d.nodes.map((n, i) => (n === null ? `#removed-${i}` : n)).join('\n') + '\n';
  const publicAddresses = d.publicAddresses.map((p) => `${p.address}/${p.prefix} ${p.interfaces.join(',')}`).join('\n') + (d.publicAddresses.length ? '\n' : '');
  const tun = Object.entries(tunables).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
  return { files: { 'ctdb.conf': conf, nodes, public_addresses: publicAddresses, 'ctdb.tunables': tun }, problems };
}

// ---------------------------------------------------------------- parsing --

/** `ctdb … -X` output: `|h1|h2|…|` then rows of the same shape → objects keyed by header. */
export function parseMachineReadable(text: string): Record<string, string>[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('|'));
  if (lines.length === 0) throw new CtdbError('CTDB_BAD_OUTPUT', `no machine-readable output: ${JSON.stringify(text.slice(0, 200))}`);
  const cells = (l: string) => l.replace(/^\|/, '').replace(/\|$/, '').split('|');
  const header = cells(lines[0]!);
  return lines.slice(1).map((l) => {
    const c = cells(l);
    if (c.length !== header.length) throw new CtdbError('CTDB_BAD_OUTPUT', `row "${l}" does not match header "${lines[0]}"`);
    return Object.fromEntries(header.map((h, i) => [h, c[i]!]));
  });
}

const flag = (row: Record<string, string>, k: string) => row[k] === '1';

/** `ctdb status -X` (node map) → nodes. */
export function parseStatus(text: string): CtdbNode[] {
  return parseMachineReadable(text).map((r) => {
    const pnn = Number(r['Node']);
    if (!Number.isInteger(pnn) || r['IP'] === undefined) throw new CtdbError('CTDB_BAD_OUTPUT', `unexpected status row ${JSON.stringify(r)}`);
    const n: CtdbNode = {
      pnn,
      address: r['IP'],
      disconnected: flag(r, 'Disconnected'),
      unknown: flag(r, 'Unknown'),
      banned: flag(r, 'Banned'),
      disabled: flag(r, 'Disabled'),
      unhealthy: flag(r, 'Unhealthy'),
      stopped: flag(r, 'Stopped'),
      inactive: flag(r, 'Inactive'),
      partiallyOnline: flag(r, 'PartiallyOnline'),
      thisNode: r['ThisNode'] === 'Y',
      ok: false,
    };
    n.ok = !(n.disconnected || n.unknown || n.banned || n.disabled || n.unhealthy || n.stopped || n.inactive);
    return n;
  });
}

/** `ctdb ip -v -X` (or without -v) → public addresses. */
export function parseIps(text: string): CtdbIp[] {
  const list = (s: string | undefined) => (s ? s.split(',').filter(Boolean) : []);
  return parseMachineReadable(text).map((r) => {
    const pnn = Number(r['Node']);
    if (!r['Public IP'] || !Number.isInteger(pnn)) throw new CtdbError('CTDB_BAD_OUTPUT', `unexpected ip row ${JSON.stringify(r)}`);
    return {
      address: r['Public IP'],
      pnn,
      activeInterface: r['ActiveInterfaces'] || null,
      availableInterfaces: list(r['AvailableInterfaces']),
      configuredInterfaces: list(r['ConfiguredInterfaces']),
    };
  });
}

// ---------------------------------------------------------------- service --

export interface CtdbServiceOptions {
  /** Directory for CTDB's databases, log and event-script state. */
  dataDir: string;
  /** Where the configuration files are written; ctdbd must see it as /etc/ctdb. Default /etc/ctdb. */
  configDir?: string;
  /** ctdbd's run directory as this process sees it; ctdbd must see it as /run/ctdb. Default /run/ctdb. */
  runDir?: string;
  logger?: Logger;
  /**
   * argv put before every CTDB program, e.g. `nsenter -t PID -m -n -u --`
   * to run in a test node's namespaces. The environment is passed through.
   */
  commandPrefix?: string[];
  /** Timeout of each `ctdb` tool run, ms (default 15 s). */
  toolTimeoutMs?: number;
  sbinDir?: string;
  binDir?: string;
}

interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const noopLogger = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;

/**
 * Supervises one ctdbd.
 *
 *   const ctdb = new CtdbService({ dataDir });
 *   await ctdb.configure(desired);        // writes files; reloads a running ctdbd
 *   await ctdb.start();                   // ctdbd answers on its socket
 *   await ctdb.waitHealthy(60_000);       // this node OK, a leader elected
 *   … smbd with `clustering = yes` and `ctdbd socket = ctdb.paths.socket` …
 *   await ctdb.stop();
 *
 * Calls are serialised. ctdbd runs in the foreground (-i) in a process group
 * of its own (its recovery daemon, eventd, lock helpers and event scripts are
 * in it); stop() asks it to shut down and kills the group after 10 s. An
 * unexpected exit is restarted with backoff (1 s … 30 s) until stop().
 */
export class CtdbService {
  readonly paths: CtdbPaths;
  private readonly log: Logger;
  private readonly prefix: string[];
  private readonly toolTimeoutMs: number;
  private readonly sbin: string;
  private readonly bin: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> | null = null;
  private wanted = false;
  private backoffMs = 1000;
  private restartTimer: NodeJS.Timeout | null = null;
  private stderrTail = '';
  private configured: CtdbFiles | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  restarts = 0;

  constructor(opts: CtdbServiceOptions) {
    this.paths = ctdbPaths(opts.dataDir, { configDir: opts.configDir, runDir: opts.runDir });
    this.log = opts.logger ?? noopLogger;
    this.prefix = opts.commandPrefix ?? [];
    this.toolTimeoutMs = opts.toolTimeoutMs ?? 15_000;
    this.sbin = opts.sbinDir ?? '/usr/sbin';
    this.bin = opts.binDir ?? '/usr/bin';
  }

  /**
   * Writes CTDB's files (only those that changed). A running ctdbd is told:
   * `ctdb reloadnodes` after a nodes change (cluster-wide: every node must
   * already have the new file), `ctdb reloadips` after a public address
   * change. Returns problems instead of throwing for bad input; the files
   * in force stay as they were then.
   */
  async configure(d: CtdbDesired): Promise<{ changed: string[]; problems: CtdbProblem[] }> {
    return this.serial(async () => {
      const { files, problems } = generateCtdb(d, this.paths);
      if (!files) return { changed: [], problems };
      await this.ensureDirs();
      const changed: string[] = [];
      for (const [name, text] of Object.entries(files)) {
        if (await writeFileIfChanged(join(this.paths.etcDir, name), text, 0o644)) changed.push(name);
      }
      this.configured = files;
      if (this.isRunning()) {
        if (changed.includes('nodes')) {
          const r = await this.tool(['reloadnodes']);
          if (r.code !== 0) problems.push({ path: 'nodes', message: `ctdb reloadnodes failed: ${tail(r)}` });
        }
        if (changed.includes('public_addresses')) {
          const r = await this.tool(['reloadips']);
          if (r.code !== 0) problems.push({ path: 'publicAddresses', message: `ctdb reloadips failed: ${tail(r)}` });
        }
      }
      if (changed.length) this.log.info({ changed }, 'ctdb configuration written');
      return { changed, problems };
    });
  }

  /** Starts ctdbd (after configure) and waits until the ctdb tool reaches it. */
  async start(timeoutMs = 30_000): Promise<void> {
    await this.serial(async () => {
      if (!this.configured && !existsSync(join(this.paths.etcDir, 'nodes'))) {
        throw new CtdbError('CTDB_BAD_CONFIG', 'ctdb is not configured: call configure() first');
      }
      this.wanted = true;
      if (this.isRunning()) return;
      await this.killStale();
      await this.launch(timeoutMs);
    });
  }

  async stop(): Promise<void> {
    await this.serial(async () => {
      this.wanted = false;
      if (this.restartTimer) clearTimeout(this.restartTimer);
      this.restartTimer = null;
      await this.terminate();
    });
  }

  /** ctdbd's pid while it runs (the process-group leader of all its helpers). */
  get pid(): number | null {
    return this.isRunning() ? (this.child?.pid ?? null) : null;
  }

  async status(): Promise<CtdbStatus> {
    const r = await this.toolOk(['status', '-X']);
    const nodes = parseStatus(r.stdout);
    const me = nodes.find((n) => n.thisNode);
    if (!me) throw new CtdbError('CTDB_BAD_OUTPUT', 'ctdb status names no node as this node');
    const l = await this.tool(['leader']);
    const leader = l.code === 0 && /^\d+$/.test(l.stdout.trim()) ? Number(l.stdout.trim()) : null;
    const allOk = nodes.filter((n) => !n.disconnected && !n.unknown).every((n) => n.ok);
    return { nodes, thisPnn: me.pnn, leader, allOk };
  }

  async ips(): Promise<CtdbIp[]> {
    return parseIps((await this.toolOk(['ip', '-v', '-X'])).stdout);
  }

  /** Forces a database recovery and address rebalancing (`ctdb recover`). */
  async recover(): Promise<void> {
    await this.toolOk(['recover']);
  }

  /**
   * Waits until this node is OK and a leader is elected (what smbd with
   * `clustering = yes` needs before it starts). Rejects with CTDB_TIMEOUT
   * carrying the last status seen.
   */
  async waitHealthy(timeoutMs = 60_000): Promise<CtdbStatus> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      if (!this.isRunning() && !this.restartTimer) {
        throw new CtdbError('CTDB_NOT_RUNNING', `ctdbd is not running: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
      }
      try {
        const s = await this.status();
        const me = s.nodes.find((n) => n.thisNode)!;
        if (me.ok && s.leader !== null) return s;
        last = JSON.stringify(me);
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline) throw new CtdbError('CTDB_TIMEOUT', `ctdb did not become healthy within ${timeoutMs} ms (last: ${last}); see ${this.paths.logFile}`);
      await sleep(500);
    }
  }

  /** The ctdbd command line and environment (for a systemd unit on the image). */
  ctdbdCommand(): { command: string; args: string[]; env: Record<string, string> } {
    return { command: join(this.sbin, 'ctdbd'), args: ['--interactive'], env: this.env() };
  }

  // ------------------------------------------------------------ private --

  private env(): Record<string, string> {
    return {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      CTDB_SCRIPT_VARDIR: this.paths.scriptsDir,
    };
  }

  private async ensureDirs(): Promise<void> {
    const p = this.paths;
    for (const d of [p.etcDir, p.runDir, p.volatileDir, p.persistentDir, p.stateDir, p.scriptsDir, dirname(p.logFile), join(p.etcDir, 'events', 'legacy'), join(p.etcDir, 'events', 'notification')]) {
      await mkdir(d, { recursive: true, mode: 0o755 });
    }
    // A config dir that is not Debian's /etc/ctdb (the lab's) lacks the
    // shared shell functions the event scripts source and notify.sh (run on
    // node state changes; ctdbd logs an error without it). Never replace
    // what exists: on the appliance these are Debian's own files.
    // Copies, not links: inside a lab node /etc/ctdb *is* the config dir.
    if (!existsSync(join(p.etcDir, 'functions'))) await copyFile(DEBIAN_FUNCTIONS, join(p.etcDir, 'functions'));
    if (!existsSync(join(p.etcDir, 'notify.sh'))) await copyFile(DEBIAN_NOTIFY, join(p.etcDir, 'notify.sh'));
    for (const s of CTDB_EVENT_SCRIPTS) {
      await ensureLink(join(DEBIAN_EVENTS, `${s}.script`), join(p.etcDir, 'events', 'legacy', `${s}.script`));
    }
  }

  private isRunning(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async launch(timeoutMs: number): Promise<void> {
    const { command, args, env } = this.ctdbdCommand();
    const [file, ...rest] = [...this.prefix, command, ...args];
    this.stderrTail = '';
    const child = spawn(file!, rest, { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    // In the foreground ctdbd logs to stderr (not to `[logging] location`),
    // without timestamps: keep it in the log file with the time each line
    // arrived, and its tail for error messages.
    const logStream = createWriteStream(this.paths.logFile, { flags: 'a' });
    logStream.on('error', () => undefined);
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stderrTail = (this.stderrTail + text).slice(-4000);
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      const at = new Date().toISOString();
      if (lines.length) logStream.write(lines.map((l) => `${at} ${l}\n`).join(''));
    });
    child.stderr!.once('close', () => logStream.end());
    this.exited = new Promise((r) => child.once('exit', () => r()));
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    child.once('error', (e) => this.log.error({ err: e.message }, 'ctdbd could not be started'));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new CtdbError('CTDB_START_FAILED', `ctdbd exited at start (${child.exitCode ?? child.signalCode}): ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}; see ${this.paths.logFile}`);
      }
      const r = await this.tool(['pnn'], 5000);
      if (r.code === 0) {
        this.log.info({ pid: child.pid, pnn: r.stdout.trim() }, 'ctdbd running');
        return;
      }
      if (Date.now() > deadline) {
        if (child.pid) killGroup(child.pid, 'SIGKILL');
        throw new CtdbError('CTDB_TIMEOUT', `ctdbd did not answer on ${this.paths.socket} within ${timeoutMs} ms`);
      }
      await sleep(300);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    if (child.pid) killGroup(child.pid, 'SIGKILL'); // helpers left behind
    if (!this.wanted) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    this.log.warn({ code, signal, retryInMs: delay, stderr: this.stderrTail.slice(-500) }, 'ctdbd exited unexpectedly');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.serial(async () => {
        if (!this.wanted || this.isRunning()) return;
        this.restarts++;
        try {
          await this.launch(30_000);
          setTimeout(() => (this.backoffMs = 1000), 60_000).unref();
        } catch (e) {
          this.log.error({ err: (e as Error).message }, 'ctdbd restart failed');
        }
      });
    }, delay);
    this.restartTimer.unref();
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    this.child = null;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    // `ctdb shutdown` releases public addresses (releaseip events) cleanly.
    await this.tool(['shutdown'], 10_000);
    let done = await Promise.race([exited!.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) {
      killGroup(child.pid, 'SIGTERM');
      done = await Promise.race([exited!.then(() => true), sleep(3000).then(() => false)]);
    }
    killGroup(child.pid, 'SIGKILL');
    if (!done) await exited;
  }

  /** A ctdbd left by an earlier cairnd with this configuration (its pid file). */
  private async killStale(): Promise<void> {
    const text = await readFile(join(this.paths.runDir, 'ctdbd.pid'), 'utf8').catch(() => null);
    const pid = Number(text?.trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (!comm.startsWith('ctdbd')) return;
    if (!environ.includes(`CTDB_SCRIPT_VARDIR=${this.paths.scriptsDir}\0`)) return; // not started by us
    killGroup(pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)); i++) await sleep(100);
    await rm(join(this.paths.runDir, 'ctdbd.pid'), { force: true });
  }

  private tool(args: string[], timeoutMs = this.toolTimeoutMs): Promise<ToolResult> {
    // -T: the tool's own timeout for a control, below ours.
    const argv = [...this.prefix, join(this.bin, 'ctdb'), '-T', String(Math.max(1, Math.floor(timeoutMs / 1000) - 1)), ...args];
    return new Promise((resolve) => {
      execFile(argv[0]!, argv.slice(1), { env: this.env(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : -1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (e && code === -1 ? e.message : ''), timedOut: Boolean(e?.killed) });
      });
    });
  }

  private async toolOk(args: string[]): Promise<ToolResult> {
    const r = await this.tool(args);
    if (r.timedOut) throw new CtdbError('CTDB_TIMEOUT', `ctdb ${args.join(' ')} did not answer within ${this.toolTimeoutMs} ms`);
    if (r.code !== 0) {
      const msg = tail(r);
      if (/connect|socket|No such file/i.test(msg) || !this.isRunning()) throw new CtdbError('CTDB_NOT_RUNNING', `ctdb ${args.join(' ')}: ctdbd is not reachable (${msg})`);
      throw new CtdbError('CTDB_TOOL_FAILED', `ctdb ${args.join(' ')} failed (${r.code}): ${msg}`);
    }
    return r;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

async function ensureLink(target: string, path: string): Promise<void> {
  const cur = await readlink(path).catch(() => null);
  if (cur === target) return;
  await rm(path, { force: true });
  await symlink(target, path);
}

function tail(r: ToolResult): string {
  return (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

function alive(stat: string | null): boolean {
  if (stat === null) return false;
  const s = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return s !== 'Z' && s !== 'X';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

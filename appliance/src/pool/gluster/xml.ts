/**
 * `gluster --xml` output parsed into typed objects. Pure functions over
 * strings, tested on XML captured from Debian's glusterfs 10.3
 * (test/pool/gluster/fixtures/).
 *
 * Shapes worth knowing (glusterfs cli/src/cli-xml-output.c):
 *  - Every reply is `<cliOutput>` with `opRet` (0 = success), `opErrno`,
 *    `opErrstr`; the CLI exits 0 even when opRet is -1.
 *  - `volume info`: `<brick>` has mixed content: its text is "host:path",
 *    with `<name>`, `<hostUuid>`, `<isArbiter>` children.
 *  - `volume status [detail]`: one `<node>` per brick (and, without
 *    `detail`, per daemon: hostname "Self-heal Daemon", path "localhost").
 *    A brick that is down has `status` 0 and port/pid "N/A" or -1.
 *  - `heal info [summary]`: `<brick>` with `status` "Connected" or an error
 *    text; `numberOfEntries` (info) or `totalNumberOfEntries` and its
 *    parts (summary) — "-" or absent when the brick cannot be asked.
 *    Counts are entries (files, directories, shards), not bytes.
 */
import { XMLParser } from 'fast-xml-parser';
import { GlusterError } from './errors.js';

/** The checked `<cliOutput>` element, children as parsed. */
export type CliOutput = Record<string, unknown>;

type Node = Record<string, unknown>;

/** Elements that may repeat, always parsed as arrays (by path). */
const ARRAYS = new Set([
  'cliOutput.volInfo.volumes.volume',
  'cliOutput.volInfo.volumes.volume.bricks.brick',
  'cliOutput.volInfo.volumes.volume.options.option',
  'cliOutput.volStatus.volumes.volume',
  'cliOutput.volStatus.volumes.volume.node',
  'cliOutput.healInfo.bricks.brick',
  'cliOutput.volList.volume',
  'cliOutput.peerStatus.peer',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (_name, jpath) => ARRAYS.has(String(jpath)),
});

/**
 * Parses CLI stdout and checks `opRet`. `what` names the command in errors.
 * Throws GLUSTER_BAD_OUTPUT for non-XML, GLUSTER_FAILED for opRet ≠ 0.
 */
export function parseCliOutput(xml: string, what = 'gluster'): CliOutput {
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (err) {
    throw new GlusterError('GLUSTER_BAD_OUTPUT', `${what}: unparsable XML (${(err as Error).message})`);
  }
  const out = doc['cliOutput'];
  if (!out || typeof out !== 'object') {
    const text = xml.trim().slice(0, 200);
    throw new GlusterError('GLUSTER_BAD_OUTPUT', `${what}: no <cliOutput> in ${JSON.stringify(text)}`);
  }
  const o = out as Node;
  const opRet = Number(str(o['opRet']) || '0');
  if (opRet !== 0) {
    const errno = Number(str(o['opErrno']));
    const msg = str(o['opErrstr']).trim() || `opRet ${opRet}`;
    throw new GlusterError('GLUSTER_FAILED', `${what}: ${msg}`, Number.isFinite(errno) ? errno : undefined);
  }
  return o;
}

// ---- volume info -----------------------------------------------------------

export interface BrickRef {
  /** "host:/path", as Gluster names a brick. */
  name: string;
  host: string;
  path: string;
  hostUuid: string;
  isArbiter: boolean;
}

export type VolumeState = 'Created' | 'Started' | 'Stopped';

export interface VolumeInfo {
  name: string;
  id: string;
  state: VolumeState;
  /** typeStr: "Replicate", "Distributed-Replicate", "Distribute", … */
  type: string;
  brickCount: number;
  /** Bricks per replica set (including the arbiter). */
  replicaCount: number;
  arbiterCount: number;
  /** Number of replica sets. */
  distCount: number;
  bricks: BrickRef[];
  /** Options set on the volume (reconfigured ones), name → value. */
  options: Record<string, string>;
}

export function parseVolumeInfo(out: CliOutput): VolumeInfo[] {
  const volumes = arr(path(out, 'volInfo', 'volumes', 'volume'));
  return volumes.map((v) => {
    const options: Record<string, string> = {};
    for (const o of arr(path(v, 'options', 'option'))) options[str(o['name'])] = str(o['value']);
    const replicaCount = num(v['replicaCount']);
    const distCount = num(v['distCount']);
    return {
      name: str(v['name']),
      id: str(v['id']),
      state: str(v['statusStr']) as VolumeState,
      type: str(v['typeStr']),
      brickCount: num(v['brickCount']),
      replicaCount,
      arbiterCount: num(v['arbiterCount']),
      distCount,
      bricks: arr(path(v, 'bricks', 'brick')).map((b) => {
        const name = str(b['name']) || str(b['#text']);
        return { name, ...splitBrick(name), hostUuid: str(b['hostUuid']), isArbiter: str(b['isArbiter']) === '1' };
      }),
      options,
    };
  });
}

export function parseVolumeList(out: CliOutput): string[] {
  return arr(path(out, 'volList', 'volume')).map((v) => str(v));
}

export function parseVolumeCreate(out: CliOutput): { name: string; id: string } {
  const v = path(out, 'volCreate', 'volume') as Node | undefined;
  if (!v) throw new GlusterError('GLUSTER_BAD_OUTPUT', 'volume create: no <volCreate><volume>');
  return { name: str(v['name']), id: str(v['id']) };
}

// ---- volume status ---------------------------------------------------------

export interface BrickStatus {
  /** "host:/path" */
  brick: string;
  host: string;
  path: string;
  peerId: string;
  online: boolean;
  port: number | null;
  pid: number | null;
  /** Filesystem figures, present with `detail`. Bytes. */
  sizeTotal?: number;
  sizeFree?: number;
  device?: string;
  fsName?: string;
  inodesTotal?: number;
  inodesFree?: number;
}

export interface DaemonStatus {
  /** "Self-heal Daemon", "NFS Server", … */
  name: string;
  host: string;
  online: boolean;
  pid: number | null;
}

export interface VolumeStatus {
  volume: string;
  bricks: BrickStatus[];
  daemons: DaemonStatus[];
}

export function parseVolumeStatus(out: CliOutput): VolumeStatus[] {
  return arr(path(out, 'volStatus', 'volumes', 'volume')).map((v) => {
    const bricks: BrickStatus[] = [];
    const daemons: DaemonStatus[] = [];
    for (const n of arr(v['node'])) {
      const host = str(n['hostname']);
      const p = str(n['path']);
      const online = str(n['status']) === '1';
      const pid = optInt(n['pid']);
      if (!p.startsWith('/')) {
        daemons.push({ name: host, host: p, online, pid });
        continue;
      }
      const b: BrickStatus = {
        brick: `${host}:${p}`,
        host,
        path: p,
        peerId: str(n['peerid']),
        online,
        port: optInt(n['port']),
        pid,
      };
      if (n['sizeTotal'] !== undefined) {
        b.sizeTotal = num(n['sizeTotal']);
        b.sizeFree = num(n['sizeFree']);
        b.device = str(n['device']);
        b.fsName = str(n['fsName']);
        b.inodesTotal = num(n['inodesTotal']);
        b.inodesFree = num(n['inodesFree']);
      }
      bricks.push(b);
    }
    return { volume: str(v['volName']), bricks, daemons };
  });
}

// ---- heal info -------------------------------------------------------------

export interface HealBrick {
  brick: string;
  host: string;
  path: string;
  /** The self-heal daemon could ask this brick ("Connected"). */
  connected: boolean;
  /** "Connected", or why the brick could not be asked. */
  status: string;
  /** Entries pending heal on this brick; null when it could not be asked. */
  entries: number | null;
  /** With `heal info summary` only. */
  healPending?: number;
  splitBrain?: number;
  possiblyHealing?: number;
}

export function parseHealInfo(out: CliOutput): HealBrick[] {
  return arr(path(out, 'healInfo', 'bricks', 'brick')).map((b) => {
    const name = str(b['name']);
    const status = str(b['status']);
    const connected = status === 'Connected';
    const raw = b['totalNumberOfEntries'] ?? b['numberOfEntries'];
    const entries = connected ? optInt(raw) : null;
    const h: HealBrick = { brick: name, ...splitBrick(name), connected, status, entries };
    if (connected && b['numberOfEntriesInHealPending'] !== undefined) {
      h.healPending = num(b['numberOfEntriesInHealPending']);
      h.splitBrain = num(b['numberOfEntriesInSplitBrain']);
      h.possiblyHealing = num(b['numberOfEntriesPossiblyHealing']);
    }
    return h;
  });
}

// ---- helpers ---------------------------------------------------------------

/** "host:/a/b" → host and path (hosts may be IPv4 names; no IPv6 here). */
export function splitBrick(name: string): { host: string; path: string } {
  const i = name.indexOf(':/');
  if (i <= 0) throw new GlusterError('GLUSTER_BAD_OUTPUT', `not a brick name: ${JSON.stringify(name)}`);
  return { host: name.slice(0, i), path: name.slice(i + 1) };
}

function path(n: unknown, ...keys: string[]): unknown {
  let cur = n;
  for (const k of keys) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Node)[k];
  }
  return cur;
}

function arr(v: unknown): Node[] {
  if (v === undefined || v === null || v === '') return [];
  return (Array.isArray(v) ? v : [v]) as Node[];
}

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return str((v as Node)['#text']);
  return String(v);
}

function num(v: unknown): number {
  const n = Number(str(v));
  if (!Number.isFinite(n)) throw new GlusterError('GLUSTER_BAD_OUTPUT', `not a number: ${JSON.stringify(v)}`);
  return n;
}

/** Numbers that Gluster writes as "N/A", "-" or -1 when unknown. */
function optInt(v: unknown): number | null {
  const s = str(v);
  if (!/^\d+$/.test(s)) return null;
  return Number(s);
}

/**
 * Removing an appliance that holds bricks: its bricks move first.
 *
 * The plan (pure, `planEvacuation`), per replica set that has a brick on
 * the leaving appliance:
 *   1. replace-brick onto another appliance that holds no brick of that
 *      set (replication stays one copy per appliance), the least loaded
 *      first; the new brick goes to the directory that appliance published
 *      on the state volume (its member record: `brickDir` for data
 *      volumes, `stateBrick` for `cairn-state`);
 *   2. else, in a distributed-replicated volume (or plain distribute),
 *      remove-brick the whole set: Gluster migrates its files onto the
 *      other sets (start → status → commit);
 *   3. else, for the state volume only, lower its replica count (the
 *      remaining appliances each keep a copy);
 *   4. else it is refused: the volume would lose a copy (HOLDS_BRICKS,
 *      saying which brick has nowhere to go and what to do).
 * Nothing is changed unless every brick has a place.
 *
 * The state volume's moves come after every data volume's: its graph
 * switch (every appliance's FUSE mount of it gets a new volfile) then
 * happens when the data moves have been recorded, not in the middle of
 * the writes that record them.
 *
 * The run (`runEvacuation`, a task with progress): each move; as soon as
 * Gluster has it, the state's pool brick list is updated (`onMoved`, so a
 * task that fails later leaves the state as Gluster is); for a replace,
 * the wait for self-heal to bring the new brick up to date (pending
 * entries and unreachable bricks 0, seen twice, polls every `healPollMs`);
 * at the end the appliance is detached from the trusted pool, once no
 * volume lists a brick on it.
 *
 * Nothing waits without a bound: the task either ends done or fails with
 * what is stuck and what the admin can do (see EvacuationDeps for each
 * bound). Measured in the lab (state-lab.test.ts): a client that still
 * had a file open on the volume's graph from before the replace (an NFS
 * server's gfapi handle) marked that file pending against the new brick
 * after the self-heal daemon's one index crawl had finished; the daemon
 * crawls the index again only after cluster.heal-timeout (600 s), so
 * "1 entry pending" stayed for minutes. The wait therefore asks for an
 * index heal again whenever the count has not fallen for
 * `healRetriggerMs`.
 */
import { reduceReplica, removeBrickCommit, removeBrickStart, removeBrickStatus, STATE_VOLUME } from '../pool/gluster/cluster-ops.js';
import type { GlusterPeers } from '../pool/gluster/peers.js';
import type { GlusterVolumes } from '../pool/gluster/volumes.js';
import { splitBrick } from '../pool/gluster/xml.js';

/** What each appliance publishes about itself on the state volume (members/<hostname>.json). */
export interface MemberRecord {
  hostname: string;
  /** Its brick of the state volume (or where one would go). */
  stateBrick?: string;
  /** Where it takes bricks moved from another appliance. */
  brickDir?: string;
  at: string;
}

export interface VolumeLayout {
  name: string;
  /** "host:/path" in replica-set order. */
  bricks: string[];
  /** Bricks per replica set (arbiter included); 1 for plain distribute. */
  replica: number;
}

export type Move =
  | { kind: 'replace'; volume: string; from: string; to: string }
  | { kind: 'remove-set'; volume: string; bricks: string[] }
  | { kind: 'reduce'; volume: string; replica: number; bricks: string[] };

export interface EvacuationPlan {
  moves: Move[];
  /** Why a brick has nowhere to go; non-empty means refused. */
  refusals: string[];
}

const hostOf = (brick: string) => splitBrick(brick).host;

/** Pure: where the bricks of `host` go. `candidates`: the other reachable members, in join order. */
export function planEvacuation(host: string, volumes: VolumeLayout[], candidates: string[], records: Map<string, MemberRecord>): EvacuationPlan {
  // The state volume last (see the header).
  volumes = [...volumes.filter((v) => v.name !== STATE_VOLUME), ...volumes.filter((v) => v.name === STATE_VOLUME)];
  const moves: Move[] = [];
  const refusals: string[] = [];
  const load = new Map<string, number>();
  for (const v of volumes) for (const b of v.bricks) load.set(hostOf(b), (load.get(hostOf(b)) ?? 0) + 1);
  const others = candidates.filter((c) => c !== host);

  for (const v of volumes) {
    const per = Math.max(1, v.replica);
    const sets: string[][] = [];
    for (let i = 0; i < v.bricks.length; i += per) sets.push(v.bricks.slice(i, i + per));
    const isState = v.name === STATE_VOLUME;
    const mine = sets.filter((s) => s.some((b) => hostOf(b) === host));
    const reduceBricks: string[] = [];
    mine.forEach((set) => {
      const setIndex = sets.indexOf(set);
      for (const brick of set.filter((b) => hostOf(b) === host)) {
        const taken = new Set(set.map(hostOf));
        const dirOf = (c: string) => (isState ? records.get(c)?.stateBrick : records.get(c)?.brickDir);
        const target = per > 1 ? others.filter((c) => !taken.has(c) && dirOf(c)).sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0))[0] : undefined;
        if (target) {
          const dir = dirOf(target)!.replace(/\/+$/, '');
          const to = isState ? `${target}:${dir}` : `${target}:${dir}/${v.name}-${setIndex}-from-${host}`;
          moves.push({ kind: 'replace', volume: v.name, from: brick, to });
          set[set.indexOf(brick)] = to;
          load.set(target, (load.get(target) ?? 0) + 1);
        } else if (sets.length - mine.length > 0 && sets.length > 1 && !isState) {
          moves.push({ kind: 'remove-set', volume: v.name, bricks: [...set] });
          break;
        } else if (isState && per > 1 && sets.length === 1) {
          reduceBricks.push(brick);
        } else {
          refusals.push(
            `volume ${v.name}: no other appliance can take brick ${brick} (each of its replica set's other copies is on ${[...taken].filter((h) => h !== host).join(', ') || 'no other appliance'}, and no further appliance has published a brick directory): add an appliance first, or removing ${host} would leave ${per - 1} cop${per - 1 === 1 ? 'y' : 'ies'}`,
          );
        }
      }
    });
    if (reduceBricks.length) moves.push({ kind: 'reduce', volume: v.name, replica: per - reduceBricks.length, bricks: reduceBricks });
  }
  return { moves, refusals };
}

export interface EvacuationDeps {
  volumes: GlusterVolumes;
  peers: GlusterPeers;
  /**
   * After a move took effect in Gluster: record it in the desired state.
   * Retried for `recordTimeoutMs` while the cluster state is briefly not
   * writable (ClusterError STATE_CONFLICT, NO_QUORUM, STATE_UNAVAILABLE:
   * another appliance wrote meanwhile, or the state volume's mount is
   * switching graphs).
   */
  onMoved?: (move: Move) => Promise<void>;
  healPollMs?: number;
  /** Asks for an index heal again when the pending count has not fallen for this long, default 15 s. */
  healRetriggerMs?: number;
  /**
   * Fails the task when the pending count has not fallen for this long:
   * default 30 min for a data volume (sharded VM volumes heal in 64 MiB
   * entries, each far quicker), 3 min for the small state volume.
   */
  healStallMs?: number;
  /** Fails when a brick of the volume stays unreachable by heal for this long, default 3 min. */
  brickUnreachableMs?: number;
  /** Longest wait for one brick's heal, default 6 h. */
  healTimeoutMs?: number;
  /** How long `onMoved` is retried, default 90 s. */
  recordTimeoutMs?: number;
  /** remove-brick migration: fails when its counts have not moved for this long, default 30 min. */
  migrateStallMs?: number;
  /** How long a replace-brick that timed out is watched for taking effect, default 60 s. */
  replaceSettleMs?: number;
}

export interface Progress {
  progress(fraction: number, message?: string): void;
  signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));
const RECORD_RETRY = new Set(['STATE_CONFLICT', 'NO_QUORUM', 'STATE_UNAVAILABLE']);
const SHD_DOWN = /Self-heal daemon is not running/i;

/** Runs the moves, waits for heal after each replace, then detaches `host`. Returns a summary; throws with what to do when a step cannot finish. */
export async function runEvacuation(host: string, moves: Move[], deps: EvacuationDeps, t: Progress): Promise<string> {
  const step = 1 / (moves.length + 1);
  for (const [i, move] of moves.entries()) {
    t.signal.throwIfAborted();
    const base = i * step;
    if (move.kind === 'replace') {
      t.progress(base, `${move.volume}: replace-brick ${move.from} → ${move.to}`);
      await replace(host, move, deps, t);
      await record(host, move, deps, t);
      await waitHealed(host, move, deps, t, base, step);
    } else if (move.kind === 'remove-set') {
      t.progress(base, `${move.volume}: migrating files off ${move.bricks.join(', ')}`);
      await migrate(host, move, deps, t, base, step);
      await removeBrickCommit(deps.volumes, move.volume, move.bricks);
      await record(host, move, deps, t);
    } else {
      t.progress(base, `${move.volume}: replica ${move.replica} without ${move.bricks.join(', ')}`);
      await reduceReplica(deps.volumes, move.volume, move.replica, move.bricks);
      await record(host, move, deps, t);
    }
  }
  t.progress(1 - step, `detaching ${host}`);
  await detach(host, deps);
  return `${host} removed: ${moves.length} brick move(s) done`;
}

/**
 * replace-brick; when the CLI gave up (its deadline, or a peer answering
 * late) glusterd may still have made the change: the volume's layout
 * decides, watched for `replaceSettleMs`.
 */
async function replace(host: string, move: Extract<Move, { kind: 'replace' }>, deps: EvacuationDeps, t: Progress): Promise<void> {
  const moved = async () => {
    const names = (await deps.volumes.info(move.volume)).bricks.map((b) => b.name);
    return names.includes(move.to) && !names.includes(move.from);
  };
  try {
    await deps.volumes.replaceBrick(move.volume, move.from, move.to);
    return;
  } catch (err) {
    // Only a CLI that gave up waiting leaves the outcome open; a refusal is final at once.
    const end = Date.now() + ((err as { code?: unknown }).code === 'GLUSTER_TIMEOUT' ? (deps.replaceSettleMs ?? 60_000) : 0);
    for (;;) {
      if (await moved().catch(() => false)) {
        // In place; the index heal replaceBrick asks for afterwards may not have run.
        await deps.volumes.triggerHeal(move.volume).catch(() => undefined);
        return;
      }
      if (Date.now() >= end) throw new Error(`${move.volume}: replace-brick ${move.from} → ${move.to} failed: ${msg(err)}; nothing was moved, ${host} was not removed`);
      await sleep(2000, t.signal);
    }
  }
}

/** `onMoved`, retried while the cluster state is briefly not writable. */
async function record(host: string, move: Move, deps: EvacuationDeps, t: Progress): Promise<void> {
  if (!deps.onMoved) return;
  const end = Date.now() + (deps.recordTimeoutMs ?? 90_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.onMoved(move);
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (!(typeof code === 'string' && RECORD_RETRY.has(code)) || Date.now() > end) {
        throw new Error(
          `${move.volume}: the brick move is done in Gluster but could not be recorded in the cluster state: ${msg(err)}; ${host} was not removed. ` +
            `The pool's brick list still names ${move.kind === 'replace' ? move.from : move.bricks.join(', ')}: once the cluster state can be written (GET /cluster shows sharedState), correct it and remove ${host} again`,
        );
      }
      await sleep(Math.min(5000, 500 * attempt), t.signal);
    }
  }
}

/**
 * Until heal info shows no pending entry and every brick reachable, twice
 * in a row. Asks for an index heal again when the count has not fallen
 * for `healRetriggerMs`; fails (with the count and what to look at) when
 * it has not fallen for `healStallMs`, a brick stayed unreachable for
 * `brickUnreachableMs`, or after `healTimeoutMs` in all.
 */
async function waitHealed(host: string, move: Extract<Move, { kind: 'replace' }>, deps: EvacuationDeps, t: Progress, base: number, step: number): Promise<void> {
  const pollMs = deps.healPollMs ?? 3000;
  const retriggerMs = deps.healRetriggerMs ?? 15_000;
  const stallMs = deps.healStallMs ?? (move.volume === STATE_VOLUME ? 180_000 : 1_800_000);
  const unreachableMs = deps.brickUnreachableMs ?? 180_000;
  const timeoutMs = deps.healTimeoutMs ?? 6 * 3600_000;
  const started = Date.now();
  const left = `the brick was moved (${move.to}) and recorded; ${host} was not removed`;
  let lowest = Infinity;
  let lastFall = started;
  let lastTrigger = started;
  let reachableAt = started;
  let first: number | undefined;
  let zeros = 0;
  let lastError: string | undefined;
  let shdDown: string | undefined;
  let restartedShd = false;
  for (;;) {
    await sleep(pollMs, t.signal);
    const now = Date.now();
    let heal;
    try {
      heal = await deps.volumes.heal(move.volume);
      lastError = undefined;
    } catch (err) {
      lastError = msg(err);
      zeros = 0;
    }
    if (heal) {
      zeros = heal.unreachable === 0 && heal.pending === 0 ? zeros + 1 : 0;
      if (zeros >= 2) return;
      if (heal.unreachable === 0) reachableAt = now;
      if (heal.pending < lowest) {
        lowest = heal.pending;
        lastFall = now;
      }
      first ??= Math.max(heal.pending, 1);
      const done = heal.pending === 0 ? 1 : Math.max(0, 1 - heal.pending / first);
      const down = heal.bricks.filter((b) => !b.connected).map((b) => b.brick);
      t.progress(
        base + step * (0.2 + 0.8 * done),
        `${move.volume}: healing onto ${move.to}: ${heal.pending} entr${heal.pending === 1 ? 'y' : 'ies'} pending${down.length ? `; not reachable: ${down.join(', ')}` : ''}`,
      );
      if (now - reachableAt > unreachableMs) {
        throw new Error(`${move.volume}: brick(s) ${down.join(', ') || '?'} not reachable for heal for ${Math.round((now - reachableAt) / 1000)} s (gluster volume status ${move.volume} shows whether its process runs); ${left}`);
      }
    } else if (now - lastFall > retriggerMs) {
      t.progress(base + step * 0.2, `${move.volume}: healing onto ${move.to}: heal info failed (${lastError})`);
    }
    if (now - lastFall > stallMs) {
      throw new Error(
        `${move.volume}: heal onto ${move.to} made no progress for ${Math.round((now - lastFall) / 1000)} s (` +
          (heal ? `${heal.pending} entries pending: gluster volume heal ${move.volume} info lists them` : `heal info failed: ${lastError}`) +
          (shdDown ? `; a self-heal daemon is not running (${shdDown}): gluster volume start ${move.volume} force restarts it` : '') +
          `); ${left}: remove it again once heal is done`,
      );
    }
    if (now - started > timeoutMs) {
      throw new Error(`${move.volume}: heal onto ${move.to} not done after ${Math.round((now - started) / 1000)} s (${heal?.pending ?? '?'} entries pending); ${left}: remove it again once heal is done`);
    }
    if (now - lastFall >= retriggerMs && now - lastTrigger >= retriggerMs) {
      lastTrigger = now;
      const why = await deps.volumes.triggerHeal(move.volume).then(() => undefined, (err: unknown) => msg(err));
      if (why && SHD_DOWN.test(why)) {
        shdDown = why;
        // Measured in the lab: an appliance's self-heal daemon (one process for every volume)
        // crashed (SIGSEGV in AFR's notify) when glusterd detached a volume's graph from it
        // during a replace-brick; nothing respawns it. `volume start … force` does, once per move.
        if (!restartedShd) {
          restartedShd = true;
          t.progress(base + step * 0.2, `${move.volume}: a self-heal daemon is not running (${why}): volume start force`);
          await deps.volumes.start(move.volume, { force: true }).catch(() => undefined);
        }
      }
    }
  }
}

/** remove-brick start, then its status until completed; fails on a failed migration or one whose counts stopped moving. */
async function migrate(host: string, move: Extract<Move, { kind: 'remove-set' }>, deps: EvacuationDeps, t: Progress, base: number, step: number): Promise<void> {
  const pollMs = deps.healPollMs ?? 3000;
  const stallMs = deps.migrateStallMs ?? 1_800_000;
  await removeBrickStart(deps.volumes, move.volume, move.bricks);
  let last = '';
  let lastChange = Date.now();
  let errors = 0;
  for (;;) {
    await sleep(pollMs, t.signal);
    let st;
    try {
      st = await removeBrickStatus(deps.volumes, move.volume, move.bricks);
      errors = 0;
    } catch (err) {
      if (++errors >= 10) throw new Error(`${move.volume}: remove-brick status failed ${errors} times in a row (${msg(err)}); the migration may still run (gluster volume remove-brick ${move.volume} … status), ${host} was not removed`);
      continue;
    }
    t.progress(base + step * 0.5, `${move.volume}: remove-brick ${st.status}: ${st.files} files, ${st.bytes} bytes moved`);
    if (/completed/i.test(st.status)) return;
    if (/fail|stopped/i.test(st.status) || st.failures > 0) throw new Error(`${move.volume}: remove-brick ${st.status} (${st.failures} failures); ${host} was not removed`);
    const now = `${st.status} ${st.files} ${st.bytes}`;
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(`${move.volume}: remove-brick made no progress for ${Math.round((Date.now() - lastChange) / 1000)} s (${st.status}, ${st.files} files moved); ${host} was not removed: stop it with gluster volume remove-brick ${move.volume} … stop, or wait and remove again`);
    }
  }
}

/** Detaches `host` once no volume lists a brick on it (glusterd would refuse, with a less clear message). */
async function detach(host: string, deps: EvacuationDeps): Promise<void> {
  const left: string[] = [];
  for (const name of await deps.volumes.list()) {
    for (const b of (await deps.volumes.info(name)).bricks) if (hostOf(b.name) === host) left.push(b.name);
  }
  if (left.length) throw new Error(`${host} still holds brick(s) ${left.join(', ')} after the moves (changed meanwhile?): not detached; remove it again`);
  try {
    await deps.peers.detach(host);
  } catch (err) {
    throw new Error(`every brick of ${host} was moved, but gluster peer detach ${host} failed: ${msg(err)}; remove it again (it now holds no brick)`);
  }
}

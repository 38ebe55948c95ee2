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
 * The run (`runEvacuation`, a task with progress): each move, then for a
 * replace the wait for self-heal to bring the new brick up to date
 * (pending entries to 0, seen twice, polls every `healPollMs`), then the
 * state's pool brick list is updated (`onMoved`), and at the end the
 * appliance is detached from the trusted pool.
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
  /** After a move took effect in Gluster: record it in the desired state. */
  onMoved?: (move: Move) => Promise<void>;
  healPollMs?: number;
  /** Longest wait for one brick's heal, default 6 h. */
  healTimeoutMs?: number;
}

export interface Progress {
  progress(fraction: number, message?: string): void;
  signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    }, { once: true });
  });

/** Runs the moves, waits for heal after each replace, then detaches `host`. Returns a summary. */
export async function runEvacuation(host: string, moves: Move[], deps: EvacuationDeps, t: Progress): Promise<string> {
  const step = 1 / (moves.length + 1);
  const pollMs = deps.healPollMs ?? 3000;
  for (const [i, move] of moves.entries()) {
    t.signal.throwIfAborted();
    const base = i * step;
    if (move.kind === 'replace') {
      t.progress(base, `${move.volume}: replace-brick ${move.from} → ${move.to}`);
      await deps.volumes.replaceBrick(move.volume, move.from, move.to);
      const started = Date.now();
      let first: number | undefined;
      let zeros = 0;
      for (;;) {
        await sleep(pollMs, t.signal);
        const heal = await deps.volumes.heal(move.volume).catch(() => undefined);
        if (!heal) continue;
        if (heal.unreachable === 0 && heal.pending === 0) zeros++;
        else zeros = 0;
        first ??= Math.max(heal.pending, 1);
        const done = heal.pending === 0 ? 1 : Math.max(0, 1 - heal.pending / first);
        t.progress(base + step * (0.2 + 0.8 * done), `${move.volume}: healing onto ${move.to}: ${heal.pending} entr${heal.pending === 1 ? 'y' : 'ies'} pending`);
        if (zeros >= 2) break;
        if (Date.now() - started > (deps.healTimeoutMs ?? 6 * 3600_000)) {
          throw new Error(`${move.volume}: heal onto ${move.to} still has ${heal.pending} entries pending after ${Math.round((Date.now() - started) / 1000)} s; ${host} was not removed`);
        }
      }
    } else if (move.kind === 'remove-set') {
      t.progress(base, `${move.volume}: migrating files off ${move.bricks.join(', ')}`);
      await removeBrickStart(deps.volumes, move.volume, move.bricks);
      for (;;) {
        await sleep(pollMs, t.signal);
        const st = await removeBrickStatus(deps.volumes, move.volume, move.bricks);
        t.progress(base + step * 0.5, `${move.volume}: remove-brick ${st.status}: ${st.files} files, ${st.bytes} bytes moved`);
        if (/completed/i.test(st.status)) break;
        if (/fail|stopped/i.test(st.status) || st.failures > 0) throw new Error(`${move.volume}: remove-brick ${st.status} (${st.failures} failures); ${host} was not removed`);
      }
      await removeBrickCommit(deps.volumes, move.volume, move.bricks);
    } else {
      t.progress(base, `${move.volume}: replica ${move.replica} without ${move.bricks.join(', ')}`);
      await reduceReplica(deps.volumes, move.volume, move.replica, move.bricks);
    }
    await deps.onMoved?.(move);
  }
  t.progress(1 - step, `detaching ${host}`);
  await deps.peers.detach(host);
  return `${host} removed: ${moves.length} brick move(s) done`;
}

/**
 * Helpers of the geo-replication lab tests: trees of files by sha256 and a
 * wait for the remote copy that restarts a stalled session once.
 *
 * The stall (seen in about 1 of 5 lab runs on the loaded 2-core machine):
 * right after `start`, the worker goes Active and reaches Changelog Crawl,
 * the brick keeps writing changelogs with the new files, but the worker
 * never receives them (no batch, no log line, for minutes). `stop` +
 * `start` recovers it: the new worker replays the brick's changelogs from
 * its history and syncs everything. The wait restarts the session once and
 * says so in the test's diagnostics; a second stall fails the test.
 * docs/geo-replication.md tells operators the same remedy.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { GlusterGeoRep, parseSecondary, type GeoRepTarget } from '../../src/pool/gluster/georep.js';
import { pidsInNetNs, sleep, type LabNode } from '../lab/lab.js';

/** "sha256  ./path" lines of every regular file under `dir` (a mount inside `node`), sorted by path. */
export async function tree(node: LabNode, dir: string): Promise<string> {
  const script = 'cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum';
  return (await node.exec(['sh', '-c', script, 'sh', dir], 120_000)).stdout;
}

/** Lines of `want` missing from `got` and lines of `got` not in `want`. */
export function treeDiff(want: string, got: string): string {
  const w = new Set(want.split('\n').filter(Boolean));
  const g = new Set(got.split('\n').filter(Boolean));
  return [...[...w].filter((l) => !g.has(l)).map((l) => `missing ${l}`), ...[...g].filter((l) => !w.has(l)).map((l) => `extra   ${l}`)].join('\n');
}

/**
 * Waits until the remote tree equals `want`; after `stallMs` without a
 * match, restarts the session once (see the header). Returns the time it
 * took and whether a restart was needed.
 */
export async function waitForCopy(
  what: string,
  opts: { geo: GlusterGeoRep; target: GeoRepTarget; want: string; remote: () => Promise<string>; timeoutMs: number; stallMs?: number; log: (s: string) => void },
): Promise<{ ms: number; restarted: boolean }> {
  const start = Date.now();
  let restarted = false;
  for (;;) {
    const got = await opts.remote();
    if (got === opts.want) return { ms: Date.now() - start, restarted };
    const waited = Date.now() - start;
    if (!restarted && waited > (opts.stallMs ?? 60_000)) {
      opts.log(`${what}: nothing after ${Math.round(waited / 1000)} s, session ${JSON.stringify((await opts.geo.status(opts.target.primary))[0]?.pairs.map((p) => [p.status, p.crawlStatus, p.lastSynced]))}: restarting it once (known gsyncd stall)`);
      await opts.geo.stop(opts.target, { force: true });
      await opts.geo.start(opts.target);
      restarted = true;
    }
    if (waited > opts.timeoutMs) assert.fail(`${what}: not within ${opts.timeoutMs / 1000} s\n${treeDiff(opts.want, got)}`);
    await sleep(2000);
  }
}

/**
 * Stops every session of every node (force) and waits until the nodes'
 * gsyncd processes are gone, so gsyncd removes its /tmp/gsyncd-aux-*
 * directories itself (a killed gsyncd leaves them in the host's /tmp,
 * which the lab's nodes share). For t.after, before Lab.down; never throws.
 */
export async function stopAllSessions(nodes: LabNode[]): Promise<void> {
  for (const n of nodes) {
    const geo = new GlusterGeoRep(n.cli);
    for (const s of await geo.status().catch(() => [])) {
      const sec = parseSecondary(s.pairs[0]?.secondary ?? '');
      if (sec) await geo.stop({ primary: s.primaryVolume, secondaryHost: sec.host, secondaryVolume: sec.volume }, { force: true }).catch(() => undefined);
    }
  }
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    let left = 0;
    for (const n of nodes) {
      for (const pid of await pidsInNetNs(n.state.holderPid).catch(() => [])) {
        if ((await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes('gsyncd')) left++;
      }
    }
    if (left === 0) return;
    await sleep(500);
  }
}

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
import type { GeoRepTarget, GlusterGeoRep } from '../../src/pool/gluster/georep.js';
import { sleep, type LabNode } from '../lab/lab.js';

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

/**
 * Helpers of the geo-replication lab tests: trees of files by sha256, a
 * wait for the remote copy, and the product's stall watchdog run for the
 * lab's primary nodes.
 *
 * The stall (about 1 in 5 session starts on the loaded 2-core machine):
 * the new worker goes Active and reaches Changelog Crawl, the brick keeps
 * rolling changelogs with the new files, but the worker never receives
 * them. The product's GeoRepWatchdog (pool/gluster/georep.ts) restarts such
 * a session as an admin would; the tests run it as cairnd does (bounds
 * shortened to keep them quick) instead of restarting sessions themselves,
 * and say in their diagnostics when it did.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { GeoRepWatchdog, GlusterGeoRep, parseSecondary, type GeoRepTarget, type NewestChangelog } from '../../src/pool/gluster/georep.js';
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

/** Waits until the remote tree equals `want`; returns the time it took. */
export async function waitForCopy(what: string, opts: { want: string; remote: () => Promise<string>; timeoutMs: number }): Promise<{ ms: number }> {
  const start = Date.now();
  for (;;) {
    const got = await opts.remote();
    if (got === opts.want) return { ms: Date.now() - start };
    if (Date.now() - start > opts.timeoutMs) assert.fail(`${what}: not within ${opts.timeoutMs / 1000} s\n${treeDiff(opts.want, got)}`);
    await sleep(2000);
  }
}

/**
 * The newest changelog of a brick of `node`, read inside the node: its
 * bricks are mounted in its own mount namespace, so the host sees only
 * the empty mount points (the product's newestChangelogOnDisk runs where
 * the brick is mounted).
 */
export function newestChangelogIn(node: LabNode): NewestChangelog {
  return async (brick) => {
    const r = await node.exec(['sh', '-c', 'find "$1/.glusterfs/changelogs" -name "CHANGELOG.*" 2>/dev/null | sed -n "s/^.*\\/CHANGELOG\\.\\([0-9]*\\)$/\\1/p" | sort -n | tail -1', 'sh', brick]);
    return r.stdout.trim() ? Number(r.stdout.trim()) : null;
  };
}

/**
 * The product's watchdog for each primary node, as cairnd runs it on each
 * appliance (its own bricks only), reading the brick's changelogs inside
 * the node (the bricks are mounted in the node's namespace). Checks every
 * 5 s with a 30 s stall bound. stop() before stopping the sessions.
 */
export function labWatchdogs(nodes: LabNode[], log: (s: string) => void): { restarts: () => number; stop: () => Promise<void> } {
  const dogs = nodes.map(
    (n) =>
      new GeoRepWatchdog(new GlusterGeoRep(n.cli), {
        isLocal: (name) => name === n.name,
        log: { warn: (o, msg) => log(`${n.name} watchdog: ${msg} ${JSON.stringify(o)}`) },
        bounds: { stallMs: 30_000, stuckMs: 90_000, backoffMs: 60_000 },
        newestChangelog: newestChangelogIn(n),
      }),
  );
  for (const d of dogs) d.start(5000);
  return { restarts: () => dogs.reduce((k, d) => k + d.restarts.length, 0), stop: async () => void (await Promise.all(dogs.map((d) => d.stop()))) };
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

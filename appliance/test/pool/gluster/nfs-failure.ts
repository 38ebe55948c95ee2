/**
 * A brick dies during a large NFS write through `cairnd nfs-serve
 * --backend gfapi` (libnfs `nfs-cp` as the client): the copy succeeds,
 * the file reads back with the right checksum, and after the brick
 * returns the driver reports heal progress until heal completes.
 *
 * Used by nfs-failure.test.ts (CI-sized) and runnable on its own for the
 * 1 GiB run of issue 6 (as root, from the repository root, after a build):
 *
 *   node appliance/dist/test/pool/gluster/nfs-failure.js 1024
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { GlusterLab, killAndWait, replica3 } from './lab.js';
import { nfsServe, tool } from '../../nfs/helpers/nfs-serve.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';

const MiB = 1 << 20;

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface NfsFailureResult {
  mib: number;
  copySeconds: number;
  killedAtMiB: number;
  healProgress: number[];
  healSeconds: number;
}

export async function nfsBrickFailure(t: TestContext, mib: number, log: (s: string) => void = () => {}): Promise<NfsFailureResult> {
  const lab = await GlusterLab.start(t);
  const v = lab.volumes;
  // Room to spare: XFS speculative preallocation and storage.reserve (1%) make a
  // brick "full" (ENOSPC) well before the data fills it.
  await replica3(lab, 'gv', Math.max(1 << 30, (2 * mib + 512) * MiB));
  const served = await nfsServe(t, ['--backend', 'gfapi', '--volume', 'gv', '--volfile-server', lab.host]);

  const src = join(lab.dir, 'src.bin');
  let left = mib;
  await pipeline(
    new Readable({
      read() {
        this.push(left-- > 0 ? randomBytes(MiB) : null);
      },
    }),
    createWriteStream(src),
  );
  const want = await sha256(src);

  // Watch the file grow through a gfapi client of our own; kill a brick at 1/4.
  const watcher = await openGfapiBackend({ volume: 'gv', volfileServer: lab.host });
  const root = await watcher.root();
  const status = await v.status('gv', { detail: false });
  const victim = status.bricks[0]!;
  let killedAtMiB = -1;
  let copying = true;
  const killer = (async () => {
    while (copying && killedAtMiB < 0) {
      try {
        const e = await watcher.lookup({ uid: 0, gid: 0, gids: [] }, root, 'big.bin');
        if (e.attrs.size >= BigInt(Math.floor(mib / 4) * MiB)) {
          await killAndWait([victim.pid!]);
          killedAtMiB = Number(e.attrs.size / BigInt(MiB));
          log(`killed brick ${victim.brick} (pid ${victim.pid}) at ${killedAtMiB} MiB`);
          return;
        }
      } catch {
        /* not created yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const t0 = Date.now();
  const cp = await tool('nfs-cp', [src, served.url('/big.bin')], 20 * 60_000);
  copying = false;
  await killer;
  const copySeconds = (Date.now() - t0) / 1000;
  assert.equal(cp.code, 0, `nfs-cp failed: ${cp.stdout}${cp.stderr}\nserver: ${served.stderr().slice(-3000)}`);
  assert.ok(killedAtMiB > 0, 'a brick was killed during the copy');
  log(`copied ${mib} MiB over NFS in ${copySeconds.toFixed(1)} s with a brick down`);

  const back = join(lab.dir, 'back.bin');
  const rd = await tool('nfs-cp', [served.url('/big.bin'), back], 20 * 60_000);
  assert.equal(rd.code, 0, `nfs-cp back failed: ${rd.stdout}${rd.stderr}`);
  assert.equal(await sha256(back), want, 'checksum of the file read back over NFS');

  const down = await v.heal('gv');
  assert.equal(down.unreachable, 1);
  assert.ok(down.pending > 0);
  await v.start('gv', { force: true });
  const healProgress: number[] = [down.pending];
  const h0 = Date.now();
  for (;;) {
    const h = await v.heal('gv');
    healProgress.push(h.pending);
    log(`heal: ${h.bricks.map((b) => `${b.path.split('/').slice(-2, -1)[0]}=${b.entries ?? '-'}`).join(' ')}`);
    if (h.pending === 0 && h.unreachable === 0) break;
    assert.ok(Date.now() - h0 < 15 * 60_000, 'heal finishes');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const healSeconds = (Date.now() - h0) / 1000;
  assert.equal(await v.health('gv'), 'healthy');
  return { mib, copySeconds, killedAtMiB, healProgress, healSeconds };
}

// Run directly: node nfs-failure.js [MiB]
if (import.meta.url === `file://${process.argv[1]}`) {
  const { test } = await import('node:test');
  const mib = Number(process.argv[2] ?? 1024);
  test(`NFS write of ${mib} MiB through gfapi with a brick killed`, { timeout: 60 * 60_000 }, async (t) => {
    const r = await nfsBrickFailure(t, mib, (s) => console.log(s));
    console.log(JSON.stringify(r));
  });
}

// The gfapi backend while the volume's graph switches under it: two
// replace-brick operations (each makes glusterd push a new volume file,
// and libgfapi moves its open fds and inodes to the new graph on the next
// call) while READs and WRITEs run concurrently on one cached fd (async
// and blocking paths), with LOOKUPs, CREATEs and READDIRs beside them. A
// crash of the native module (the SIGSEGV once seen during a brick move)
// takes this test process down; the data must come back intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Cred } from '../../../src/nfs/backend/backend.js';
import { toNfsStat, nfsstat3 } from '../../../src/nfs/backend/errors.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };
const BLOCK = 64 << 10;
const BLOCKS = 32;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('gfapi backend: I/O on a cached fd keeps working across graph switches (replace-brick twice)', { timeout: 240_000 }, async (t) => {
  const lab = await GlusterLab.start(t);
  const bricks = await replica3(lab, 'gv', 512 << 20);
  const spare = await lab.addBrick('gv-spare', 512 << 20);
  // Log level 7 (info): libgfapi logs each graph switch ("switched to graph").
  const log = `${lab.dir}/log/gfapi-switch.log`;
  const b = await openGfapiBackend({ volume: 'gv', volfileServer: lab.host, logFile: log, logLevel: 7 });
  t.after(() => b.close());
  const r = await b.root();
  const f = await b.create(root, r, 'busy', { mode: 'guarded', attrs: { mode: 0o644 } });
  const data = randomBytes(BLOCK * BLOCKS);
  await Promise.all(Array.from({ length: BLOCKS }, (_, i) => b.write(root, f.handle, BigInt(i * BLOCK), data.subarray(i * BLOCK, (i + 1) * BLOCK), 'unstable')));
  await b.commit(root, f.handle, 0n, 0);

  // While bricks move, a moment of EAGAIN/ENOTCONN (JUKEBOX, or IO while a
  // brick reconnects) is what an NFS client retries; anything else fails.
  let stop = false;
  let ops = 0;
  let transient = 0;
  const tolerate = (err: unknown) => {
    const s = toNfsStat(err);
    if (s === nfsstat3.NFS3ERR_JUKEBOX || s === nfsstat3.NFS3ERR_IO) {
      transient++;
      return;
    }
    throw err;
  };
  const worker = async (w: number) => {
    const into = Buffer.alloc(BLOCK);
    for (let n = 0; !stop; n++) {
      const i = (w * 7 + n) % BLOCKS;
      const off = BigInt(i * BLOCK);
      try {
        if (n % 3 === 0) {
          // Rewrite a block with the same bytes: async (unstable) or blocking (file_sync).
          await b.write(root, f.handle, off, data.subarray(i * BLOCK, (i + 1) * BLOCK), n % 6 === 0 ? 'file_sync' : 'unstable');
        } else {
          const rd = await b.read(root, f.handle, off, BLOCK, into);
          assert.ok(rd.data.equals(data.subarray(i * BLOCK, (i + 1) * BLOCK)), `block ${i} read back during the move`);
        }
        if (n % 10 === 0) {
          await b.lookup(root, r, 'busy');
          const c = await b.create(root, r, `f-${w}-${n}`, { mode: 'unchecked', attrs: { mode: 0o644 } });
          await b.write(root, c.handle, 0n, Buffer.from(`file ${w} ${n}`), 'unstable');
          await b.readdir(root, r, 0n, Buffer.alloc(8), 64, true);
        }
        ops++;
      } catch (err) {
        tolerate(err);
        await sleep(100);
      }
    }
  };
  const workers = Array.from({ length: 8 }, (_, w) => worker(w));
  try {
    await sleep(1000);
    const before = ops;
    await lab.volumes.replaceBrick('gv', bricks[2]!.name, spare.name);
    await sleep(4000);
    await lab.volumes.replaceBrick('gv', spare.name, bricks[2]!.name).catch(async () => {
      // The old brick directory still carries the volume's id: move on to a fresh brick instead.
      const fresh = await lab.addBrick('gv-fresh', 512 << 20);
      await lab.volumes.replaceBrick('gv', spare.name, fresh.name);
    });
    await sleep(4000);
    t.diagnostic(`${ops - before} operations during the moves, ${transient} transient errors`);
    assert.ok(ops > before, 'I/O went on while the bricks moved');
    const switches = ((await readFile(log, 'utf8')).match(/switched to graph/g) ?? []).length;
    assert.ok(switches >= 3, `the first graph and at least two switches, under I/O (log: ${switches})`);
  } finally {
    stop = true;
    await Promise.allSettled(workers);
  }
  await Promise.all(workers);
  await b.commit(root, f.handle, 0n, 0);
  const into = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCKS; i++) {
    const rd = await b.read(root, f.handle, BigInt(i * BLOCK), BLOCK, into);
    assert.ok(rd.data.equals(data.subarray(i * BLOCK, (i + 1) * BLOCK)), `block ${i} intact after the moves`);
  }
});

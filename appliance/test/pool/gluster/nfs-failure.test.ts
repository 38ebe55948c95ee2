// CI-sized: a brick dies during a 128 MiB NFS write through `cairnd nfs-serve
// --backend gfapi`. The 1 GiB run: node appliance/dist/test/pool/gluster/nfs-failure.js 1024
import { test } from 'node:test';
import { nfsBrickFailure } from './nfs-failure.js';

test('NFS client sees no error when a brick dies mid-write; checksum right; heal reported and done', { timeout: 240_000 }, async (t) => {
  const r = await nfsBrickFailure(t, 128);
  t.diagnostic(`brick killed at ${r.killedAtMiB} MiB; copy ${r.copySeconds.toFixed(1)} s; heal ${r.healSeconds.toFixed(1)} s: ${r.healProgress.join(' → ')}`);
});

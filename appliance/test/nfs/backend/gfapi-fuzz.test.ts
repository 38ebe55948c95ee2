// The gfapi backend under calls that come at once and calls nobody should
// send, on a replica-3 volume with the VM datastore options (sharding):
// truncates racing each other and writes on one file, and the stateful
// fuzzer (helpers/backend-fuzz.ts), whose calls reach libgfapi through the
// native module. A crash there would end this process. Needs root and glusterd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlusterLab, replica3 } from '../../pool/gluster/lab.js';
import { openGfapiBackend } from '../../../src/nfs/backend/gfapi/index.js';
import type { Cred } from '../../../src/nfs/backend/backend.js';
import { fuzzBackend } from '../helpers/backend-fuzz.js';

const root: Cred = { uid: 0, gid: 0, gids: [] };

test('gfapi backend: racing calls and the fuzzer on a sharded volume', { timeout: 600_000 }, async (t) => {
  const lab = await GlusterLab.start(t);
  await replica3(lab, 'gz', 1 << 30);

  await t.test('truncates racing each other and writes on one file leave a true size', async () => {
    // Without the backend's per-file order, shard left sizes of 2^64 - n
    // (ESTALE, then ENOMEM for every later truncate) and once crashed the
    // process in libglusterfs.
    const b = await openGfapiBackend({ volume: 'gz', volfileServer: lab.host });
    t.after(() => b.close());
    const r = await b.root();
    const sizes = [0n, 5n, 1n << 36n, 65536n, 1n << 27n, (1n << 26n) + 9n];
    for (let round = 0; round < 3; round++) {
      const f = (await b.create(root, r, `race${round}`, { mode: 'unchecked', attrs: { mode: 0o644 } })).handle;
      const calls: Array<Promise<unknown>> = [];
      let expected = 0n;
      for (let i = 0; i < 48; i++) {
        if (i % 3 === 2) {
          const end = BigInt(i % 4) * (1n << 26n) + 100n + 4096n;
          if (end > expected) expected = end;
          calls.push(b.write(root, f, end - 4096n, Buffer.alloc(4096, i), 'unstable'));
        } else {
          expected = sizes[i % sizes.length]!;
          calls.push(b.setattr(root, f, { size: expected }));
        }
      }
      // Each call ends as if alone, in the order sent.
      await Promise.all(calls);
      assert.equal((await b.getattr(f)).size, expected, `round ${round}`);
      await b.setattr(root, f, { size: 0n });
      assert.equal((await b.getattr(f)).size, 0n);
    }
  });

  await t.test('fuzz (CI size): 4,000 stateful calls; answers, real statuses', async () => {
    const seed = Number(process.env.CAIRN_FUZZ_SEED ?? Date.now() % 0xffffffff);
    const r = await fuzzBackend(
      async () => {
        const backend = await openGfapiBackend({ volume: 'gz', volfileServer: lab.host });
        return { backend, close: () => backend.close() };
      },
      { inputs: 4000, seed },
    );
    t.diagnostic(`seed ${seed}: ${r.ms} ms, slowest ${r.slowest.ms} ms (${r.slowest.call.slice(0, 12)}), statuses ${JSON.stringify(r.statuses)}`);
    assert.equal(r.inputs, 4000);
    assert.deepEqual(r.unmappedOs, [], `OS errors with no nfsstat3 (seed ${seed}); calls answered IO: ${r.io.join('\n')}`);
    for (const p of ['READ', 'WRITE', 'CREATE', 'MKDIR', 'RENAME', 'READDIRPLUS', 'SETATTR', 'REMOVE']) assert.ok((r.statuses[p]?.[0] ?? 0) > 0, `${p} succeeded sometimes (seed ${seed})`);
  });
});

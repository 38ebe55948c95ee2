/**
 * File handles survive a server restart (same directory, same secret file)
 * on the posix backend, and are refused when the secret changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { nfsServe } from './helpers/nfs-serve.js';
import { dirop, RpcClient } from './helpers/rpc-client.js';

test('posix: handles stay valid across a restart with the same secret; another secret gets BADHANDLE', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'cairn-nfs-restart-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'export');
  await mkdir(dir);
  await writeFile(join(dir, 'kept.txt'), 'kept');
  const secret = join(base, 'fh.secret');

  const getattr = async (port: number, fh: Buffer) => {
    const c = await RpcClient.connect(port);
    try {
      return (await c.nfs(1, new XdrWriter().opaque(fh))).u32();
    } finally {
      c.close();
    }
  };

  const first = await nfsServe(t, ['--backend', 'posix'], { dir, secret });
  const c = await RpcClient.connect(first.port);
  const { fh: root } = await c.mount('/export');
  const lk = await c.nfs(3, dirop(root!, 'kept.txt'));
  assert.equal(lk.u32(), 0);
  const file = Buffer.from(lk.opaque(64));
  c.close();
  await first.stop();

  const second = await nfsServe(t, ['--backend', 'posix'], { dir, secret });
  assert.equal(await getattr(second.port, root!), 0, 'root handle after restart');
  assert.equal(await getattr(second.port, file), 0, 'file handle after restart');
  await second.stop();

  const third = await nfsServe(t, ['--backend', 'posix'], { dir, secret: join(base, 'other.secret') });
  assert.equal(await getattr(third.port, file), 10001, 'NFS3ERR_BADHANDLE under another secret');
});

/**
 * Regressions found by differential testing against NFS-Ganesha
 * (bench/nfs-diff.ts), Cairn's side only: raw NFSv3 calls against an
 * in-process server over the posix backend, through both its READDIR fast
 * path (readdirXdr) and the contract's readdir. Needs root (posix backend,
 * and calls as uid 1000).
 *
 *  - A directory the caller may read but not search (0744 to others) is
 *    listed by name, as readdir(3) and knfsd allow; READDIRPLUS gives its
 *    entries no attributes and no handles.
 *  - A listing resumed with its cookie and a zero cookie verifier goes on
 *    (older Linux clients zero it when they drop a directory's caches);
 *    a wrong verifier is still NFS3ERR_BAD_COOKIE.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { dirop, RpcClient, type CallOptions } from './helpers/rpc-client.js';
import { parseReply, type Parsed } from './helpers/readdir-xdr.js';
import { posixRawServer } from './helpers/server.js';

const USER: CallOptions = { cred: { flavor: 'sys', uid: 1000, gid: 1000 } };
const ZERO = Buffer.alloc(8);

const posixServer = (t: TestContext, withFastPath: boolean) => posixRawServer(t, withFastPath, 'cairn-diff-');

async function lookup(c: RpcClient, dir: Buffer, name: string): Promise<Buffer> {
  const r = await c.nfs(3, dirop(dir, name));
  assert.equal(r.u32(), 0, `LOOKUP ${name}`);
  return Buffer.from(r.opaque(64));
}

/** One READDIR (plus false) or READDIRPLUS call, decoded. */
async function page(c: RpcClient, dir: Buffer, plus: boolean, cookie: bigint, verf: Buffer, count: number, opts?: CallOptions): Promise<Parsed> {
  const args = new XdrWriter().opaque(dir).u64(cookie).fixedOpaque(verf);
  return parseReply(plus ? await c.nfs(17, args.u32(count).u32(count), opts) : await c.nfs(16, args.u32(count), opts), plus);
}

const names = (p: Parsed) => p.entries.map((e) => e.name.toString());

for (const fast of [true, false]) {
  const how = fast ? 'readdirXdr' : 'readdir';
  test(`posix (${how}): a directory readable but not searchable is listed by name only; without read permission it is not`, async (t) => {
    const { dir, c, root } = await posixServer(t, fast);
    await mkdir(join(dir, 'noexec'));
    await writeFile(join(dir, 'noexec', 'inside'), 'x');
    await chmod(join(dir, 'noexec'), 0o744);
    await mkdir(join(dir, 'private'));
    await writeFile(join(dir, 'private', 'secret'), 'x');
    await chmod(join(dir, 'private'), 0o700);
    const noexec = await lookup(c, root, 'noexec');
    const priv = await lookup(c, root, 'private');

    const bare = await page(c, noexec, false, 0n, ZERO, 4096, USER);
    assert.equal(bare.status, 0, 'READDIR of a 0744 directory as uid 1000: NFS3_OK');
    assert.deepEqual(names(bare).sort(), ['.', '..', 'inside']);
    assert.equal(bare.eof, true);
    const plus = await page(c, noexec, true, 0n, ZERO, 8192, USER);
    assert.equal(plus.status, 0, 'READDIRPLUS of a 0744 directory as uid 1000: NFS3_OK');
    assert.deepEqual(names(plus).sort(), ['.', '..', 'inside']);
    assert.ok(
      plus.entries.every((e) => !e.attrs && !e.fh),
      'no attributes or handles without search permission',
    );
    // Paging on from a cookie works the same way.
    const next = await page(c, noexec, false, bare.entries[0]!.cookie, bare.verf!, 4096, USER);
    assert.equal(next.status, 0);
    assert.equal(next.entries.length, 2);

    // Still refused: a lookup in it, and listing a directory the caller cannot read.
    const lk = await c.nfs(3, dirop(noexec, 'inside'), USER);
    assert.equal(lk.u32(), 13, 'LOOKUP in a 0744 directory as uid 1000: NFS3ERR_ACCES');
    assert.equal((await page(c, priv, false, 0n, ZERO, 4096, USER)).status, 13, 'READDIR of a 0700 directory: NFS3ERR_ACCES');
    assert.equal((await page(c, priv, true, 0n, ZERO, 8192, USER)).status, 13, 'READDIRPLUS of a 0700 directory: NFS3ERR_ACCES');
    // The owner still gets everything.
    const own = await page(c, noexec, true, 0n, ZERO, 8192);
    assert.ok(own.entries.find((e) => e.name.toString() === 'inside')?.fh, 'root gets handles');
  });

  test(`posix (${how}): a listing resumed with a zero cookie verifier goes on; a wrong verifier is NFS3ERR_BAD_COOKIE`, async (t) => {
    const { dir, c, root } = await posixServer(t, fast);
    for (let i = 0; i < 40; i++) await writeFile(join(dir, `file-${i}`), '');
    for (const plus of [false, true]) {
      const count = plus ? 1200 : 400;
      const first = await page(c, root, plus, 0n, ZERO, count);
      assert.equal(first.status, 0);
      assert.equal(first.eof, false, 'more than one page');
      const listed = names(first);
      let cookie = first.entries.at(-1)!.cookie;
      for (;;) {
        const p = await page(c, root, plus, cookie, ZERO, count);
        assert.equal(p.status, 0, `resumed with a zero verifier (plus=${plus}): NFS3_OK`);
        assert.ok(p.verf!.equals(first.verf!), 'the directory keeps its verifier');
        listed.push(...names(p));
        if (p.eof) break;
        cookie = p.entries.at(-1)!.cookie;
      }
      assert.equal(listed.length, 42, `every entry once (plus=${plus})`);
      assert.equal(new Set(listed).size, 42);
      const wrong = await page(c, root, plus, first.entries.at(-1)!.cookie, Buffer.from('badverf!'), count);
      assert.equal(wrong.status, 10003, 'NFS3ERR_BAD_COOKIE');
    }
  });
}

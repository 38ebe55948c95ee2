/**
 * A mount point inside a posix export is not crossed (as knfsd and Ganesha
 * without crossmnt): `cairnd nfs-serve` runs in a private mount namespace
 * (unshare) in which a directory from outside the export is bind-mounted
 * onto `export/mnt` — a bind mount of the same filesystem, the case that
 * could otherwise show what lies outside the export. READDIR lists `mnt`;
 * READDIRPLUS gives it no attributes and no handle; LOOKUP of it answers
 * NFS3ERR_ACCES; nothing under it is reachable. The namespace, and with it
 * the mount, goes away with the server process (stopped by pid). Needs
 * root and unshare(1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { XdrWriter } from '../../src/nfs/xdr/writer.js';
import { CAIRND } from '../helpers/cairnd.js';
import { RpcClient } from './helpers/rpc-client.js';
import { parseReply } from './helpers/readdir-xdr.js';

/** A fixed script; the paths and the command come in as arguments. */
const BIND_THEN_EXEC = 'mount --bind "$1" "$2" || exit 90; shift 2; exec "$@"';

interface Listed {
  name: string;
  attrs: boolean;
  handle: boolean;
}

async function listRoot(c: RpcClient, fh: Buffer, plus: boolean): Promise<Listed[]> {
  const args = new XdrWriter().opaque(fh).u64(0n).fixedOpaque(Buffer.alloc(8));
  const page = parseReply(plus ? await c.nfs(17, args.u32(8192).u32(65536)) : await c.nfs(16, args.u32(65536)), plus);
  assert.equal(page.status, 0, 'NFS3_OK');
  assert.equal(page.eof, true, 'eof');
  return page.entries.map((e) => ({ name: e.name.toString(), attrs: e.attrs !== undefined, handle: e.fh !== undefined }));
}

test('posix: a bind mount inside the export is not crossed (LOOKUP NFS3ERR_ACCES, listed without attributes)', async (t) => {
  const top = await mkdtemp(join(tmpdir(), 'cairn-mountpoint-'));
  t.after(() => rm(top, { recursive: true, force: true }));
  const exp = join(top, 'export');
  const outside = join(top, 'outside');
  await mkdir(join(exp, 'mnt'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'outside the export');
  await writeFile(join(exp, 'inside'), 'inside the export');

  const proc = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'bash', '-c', BIND_THEN_EXEC, 'bash', outside, join(exp, 'mnt'), process.execPath, CAIRND, 'nfs-serve', '--dir', exp, '--port', '0', '--host', '127.0.0.1', '--backend', 'posix', '--fh-secret', join(top, 'fh-secret')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(proc, 'exit');
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nfs-serve did not listen: ${stderr}`)), 20_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!line.includes('nfs listening')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`nfs-serve exited with ${String(code)}: ${stderr}`));
    });
  });
  // The bind mount exists in the server's namespace (and only there).
  const mounts = await readFile(`/proc/${proc.pid}/mountinfo`, 'utf8');
  assert.ok(mounts.includes(` ${join(exp, 'mnt')} `), 'the server sees the bind mount');
  assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(join(exp, 'mnt')), 'the test does not');

  const c = await RpcClient.connect(port);
  t.after(() => c.close());
  const { fh } = await c.mount('/export');
  const lookup = async (name: string) => (await c.nfs(3, new XdrWriter().opaque(fh!).string(name))).u32();
  assert.equal(await lookup('inside'), 0);
  assert.equal(await lookup('mnt'), 13, 'NFS3ERR_ACCES for the mount point');
  assert.equal(await lookup('secret'), 2, 'what the bind mount shows is not in the export');

  const plain = await listRoot(c, fh!, false);
  assert.deepEqual(plain.map((e) => e.name).sort(), ['.', '..', 'inside', 'mnt']);
  const plus = await listRoot(c, fh!, true);
  assert.deepEqual(plus.find((e) => e.name === 'mnt'), { name: 'mnt', attrs: false, handle: false });
  assert.deepEqual(plus.find((e) => e.name === 'inside'), { name: 'inside', attrs: true, handle: true });
});

/**
 * The Linux kernel NFS client against `cairnd nfs-serve --backend posix`
 * (the product's data path; CAIRN_NFS_KERNEL_BACKEND=memory for the fixture):
 * Debian's own kernel in QEMU (TCG) with a busybox initramfs holding the
 * sunrpc/nfs modules, user-mode networking (10.0.2.2 is the host), QEMU and
 * the server both inside a private network namespace made for the test.
 * The guest mounts (vers=3, tcp), writes, reads back after dropping its
 * caches, lists, renames, links, removes and unmounts, printing one line
 * per step on its serial console.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { CAIRND } from '../helpers/cairnd.js';
import { guestMissing, guestModules, initPrelude, runGuest } from './helpers/guest.js';
import { writeInitramfs } from './helpers/initramfs.js';
import { tool } from './helpers/nfs-serve.js';

const run = promisify(execFile);
const BACKEND = process.env.CAIRN_NFS_KERNEL_BACKEND ?? 'posix';

const INIT = `${initPrelude()}P=$(sed -n 's/.*cairn.port=\\([0-9]*\\).*/\\1/p' /proc/cmdline)
check mount mount -t nfs -o vers=3,proto=tcp,port=$P,mountport=$P,mountproto=tcp,nolock 10.0.2.2:/export /mnt
check rsize-wsize sh -c 'grep " /mnt nfs " /proc/mounts | grep -q "rsize=1048576,wsize=1048576"'
check write sh -c 'echo hello-from-linux > /mnt/hello.txt'
check mkdir mkdir /mnt/dir
check dd-write sh -c 'dd if=/dev/urandom of=/tmp/rand bs=64k count=128 2>/dev/null && dd if=/tmp/rand of=/mnt/dir/rand bs=1M conv=fsync 2>/dev/null'
echo 3 > /proc/sys/vm/drop_caches
check read sh -c '[ "$(cat /mnt/hello.txt)" = hello-from-linux ]'
check dd-read sh -c '[ "$(md5sum < /tmp/rand)" = "$(md5sum < /mnt/dir/rand)" ]'
check sparse sh -c 'dd if=/tmp/rand of=/mnt/dir/sparse bs=4k count=1 seek=1310720 2>/dev/null && [ "$(stat -c %s /mnt/dir/sparse)" = 5368713216 ]'
check ls sh -c 'ls -la /mnt/dir | grep -q rand'
check rename mv /mnt/hello.txt /mnt/dir/hello2.txt
check symlink sh -c 'ln -s hello2.txt /mnt/dir/sl && [ "$(cat /mnt/dir/sl)" = hello-from-linux ]'
check hardlink sh -c 'ln /mnt/dir/rand /mnt/dir/rand2 && [ "$(stat -c %h /mnt/dir/rand)" = 2 ]'
check keep sh -c 'echo left-by-guest > /mnt/from-guest.txt'
check rm rm -r /mnt/dir
check gone sh -c '! ls /mnt/dir 2>/dev/null'
check umount umount /mnt
echo CAIRN-DONE
reboot -f
`;

test('the Linux kernel NFSv3 client mounts, writes, reads, lists, renames, links, removes and unmounts', { skip: guestMissing, timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-kernel-nfs-'));
  const ns = `cairn-nfs-${process.pid}-${Date.now() % 100000}`;
  // One hook: the guest (newest first), then the server it writes through
  // into `dir`, then the namespace and `dir` (rm would race their writes).
  const stops: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const stop of stops.reverse()) await stop();
    await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  const modules = guestModules();
  const initrd = join(dir, 'initramfs.cpio');
  await writeInitramfs(initrd, { busybox: '/usr/bin/busybox', modules, init: INIT });

  const exported = join(dir, 'export');
  await mkdir(exported);
  const server = spawn('ip', ['netns', 'exec', ns, process.execPath, CAIRND, 'nfs-serve', '--backend', BACKEND, '--dir', exported, '--port', '0', '--fh-secret', join(dir, 'fh.secret')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const serverExit = once(server, 'exit');
  stops.push(async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await serverExit;
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('nfs-serve did not start')), 15_000);
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const m = /"port":(\d+).*"msg":"nfs listening"/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });

  const { console, seconds, oks, fails } = await runGuest(ns, initrd, `cairn.port=${port}`, (fn) => stops.push(fn));
  assert.deepEqual(fails, [], `guest failures after ${seconds} s:\n${console.slice(-4000)}`);
  assert.match(console, /CAIRN-DONE/, `guest did not finish (${seconds} s):\n${console.slice(-4000)}`);
  assert.deepEqual(oks, ['mount', 'rsize-wsize', 'write', 'mkdir', 'dd-write', 'read', 'dd-read', 'sparse', 'ls', 'rename', 'symlink', 'hardlink', 'keep', 'rm', 'gone', 'umount']);
  // What the guest left is there for another client.
  const cat = await tool('ip', ['netns', 'exec', ns, 'nfs-cat', `nfs://127.0.0.1/export/from-guest.txt?version=3&nfsport=${port}&mountport=${port}`], 20_000);
  assert.equal(cat.stdout, 'left-by-guest\n');
  if (BACKEND === 'posix') {
    assert.deepEqual(await readdir(exported), ['from-guest.txt'], 'on disk: only what the guest left');
    assert.equal(await readFile(join(exported, 'from-guest.txt'), 'utf8'), 'left-by-guest\n');
  }
  t.diagnostic(`guest run against the ${BACKEND} backend took ${seconds} s`);
});

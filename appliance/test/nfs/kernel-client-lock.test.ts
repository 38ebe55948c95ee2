/**
 * fcntl locks from the Linux kernel NFS client, mounted without `nolock`:
 * the guest (helpers/guest.ts) runs its own rpcbind and rpc.statd, as a
 * Proxmox or XCP-ng host does; the server side runs in a private network,
 * mount and pid namespace with its own rpcbind, `cairnd nfs-serve
 * --rpcbind` (which registers NLM and NSM there) and a libnfs client that
 * holds a lock on /held as another host. The guest must lock and unlock
 * through NLM, see its own processes conflict, and be refused /held by
 * the server (the other host's lock), while an unlocked file stays free.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CAIRND } from '../helpers/cairnd.js';
import { guestMissing, guestModules, initPrelude, runGuest } from './helpers/guest.js';
import { RPC_STATD, RPCBIND, rpcUserland, writeInitramfs } from './helpers/initramfs.js';
import { buildClient } from './helpers/nfs-serve.js';
import { PRIVATE_RPCBIND } from './helpers/rpcbind-shell.js';

const run = promisify(execFile);
const LOCKER_SRC = new URL('../../../test/nfs/fixtures/locker.c', import.meta.url).pathname;
const missing = guestMissing ?? (!existsSync(RPCBIND) || !existsSync(RPC_STATD) ? 'no rpcbind / rpc.statd (nfs-common)' : undefined);

const INIT = `${initPrelude()}hostname guest
check rpcbind /usr/sbin/rpcbind -w
check statd /usr/sbin/rpc.statd --no-notify
check mount mount -t nfs -o vers=3,proto=tcp,port=2049,mountport=2049,mountproto=tcp 10.0.2.2:/export /mnt
check lock /bin/locker /mnt/f n 0
/bin/locker /mnt/f n 3 &
L=$!
sleep 1
check own-conflict sh -c '! /bin/locker /mnt/f n 0'
wait $L
check relock /bin/locker /mnt/f n 0
check held-elsewhere sh -c '! /bin/locker /mnt/held n 0'
check other-file /bin/locker /mnt/g n 0
check umount umount /mnt
echo CAIRN-DONE
reboot -f
`;

// The server side, one process tree in its own pid namespace: when the
// shell goes (killed by the test), the namespace and everything in it go.
const SERVER_SIDE = `set -e
${PRIVATE_RPCBIND}"$1" "$2" nfs-serve --backend posix --dir "$3" --port 2049 --rpcbind --fh-secret "$4" >"$6" 2>&1 &
i=0; until rpcinfo -p 127.0.0.1 2>/dev/null | grep -q 100021; do i=$((i+1)); [ $i -lt 150 ] || exit 4; sleep 0.1; done
"$5" nlm-hold 'nfs://127.0.0.1/export?version=3&nfsport=2049&mountport=2049' /held &
wait
`;

test('the Linux kernel client locks through NLM (its own rpcbind and statd): conflicts between its processes and with another host', { skip: missing, timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-kernel-nlm-'));
  const ns = `cairn-nlm-${process.pid}-${Date.now() % 100000}`;
  // One hook: the guest (newest first), then the server side it writes
  // through into `dir` (and which logs there), then the namespace and `dir`
  // (rm would race their writes).
  const stops: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const stop of stops.reverse()) await stop();
    await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await run('ip', ['netns', 'add', ns]);
  const locker = join(dir, 'locker');
  await run('gcc', ['-O1', '-Wall', '-static', '-o', locker, LOCKER_SRC], { timeout: 60_000 });
  const client = await buildClient((fn) => t.after(fn));
  const initrd = join(dir, 'initramfs.cpio');
  const extra = [...(await rpcUserland()), { path: 'bin/locker', data: await readFile(locker), mode: 0o755 }];
  await writeInitramfs(initrd, { busybox: '/usr/bin/busybox', modules: guestModules(), init: INIT, extra });

  const exported = join(dir, 'export');
  await mkdir(exported);
  const serverLog = join(dir, 'serve.log');
  const side = spawn(
    'ip',
    ['netns', 'exec', ns, 'unshare', '--mount', '--pid', '--fork', '--kill-child', '--propagation', 'private', 'sh', '-c', SERVER_SIDE, 'sh',
      process.execPath, CAIRND, exported, join(dir, 'fh.secret'), client, serverLog],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const sideExit = once(side, 'exit');
  stops.push(async () => {
    if (side.exitCode === null && side.signalCode === null) {
      side.kill('SIGKILL');
      await sideExit;
    }
  });
  let out = '';
  side.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  side.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const held = Date.now() + 30_000;
  while (!/^held$/m.test(out)) {
    if (side.exitCode !== null || Date.now() > held) assert.fail(`server side did not start (exit ${side.exitCode}): ${out}\n${await readFile(serverLog, 'utf8').catch(() => '')}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const g = await runGuest(ns, initrd, '', (fn) => stops.push(fn), 120_000);
  const log = await readFile(serverLog, 'utf8');
  assert.deepEqual(g.fails, [], `guest failures after ${g.seconds} s:\n${g.console.slice(-4000)}\n${log.slice(-2000)}`);
  assert.match(g.console, /CAIRN-DONE/, `guest did not finish (${g.seconds} s):\n${g.console.slice(-4000)}`);
  assert.deepEqual(g.oks, ['rpcbind', 'statd', 'mount', 'lock', 'own-conflict', 'relock', 'held-elsewhere', 'other-file', 'umount']);
  assert.match(g.console, /lock \/mnt\/held: Resource temporarily unavailable/, 'the server refused /held: EAGAIN, not ENOLCK');
  t.diagnostic(`guest run took ${g.seconds} s`);
});

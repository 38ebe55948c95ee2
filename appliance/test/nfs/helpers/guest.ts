/**
 * A QEMU guest with the Linux kernel NFS client, for the kernel-client
 * tests: Debian's own kernel (TCG, no KVM here), the sunrpc/lockd/nfs
 * modules of that kernel, user-mode networking (10.0.2.2 is the host's
 * loopback) and QEMU inside a network namespace the test made. The guest's
 * /init prints `CAIRN-OK step` / `CAIRN-FAIL step` lines on its serial
 * console, then CAIRN-DONE.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import assert from 'node:assert/strict';

const kernels = existsSync('/boot') ? readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')) : [];
export const KVER = kernels[0]?.slice('vmlinuz-'.length);
export const MODULES = ['e1000', 'sunrpc', 'grace', 'lockd', 'netfs', 'fscache', 'nfs', 'nfs_acl', 'nfsv3'];

/** Why a guest cannot run here, or undefined. */
export const guestMissing: string | undefined = !KVER
  ? 'no /boot/vmlinuz-*'
  : !existsSync('/usr/bin/qemu-system-x86_64')
    ? 'no qemu-system-x86_64'
    : !existsSync('/usr/bin/busybox')
      ? 'no busybox'
      : process.getuid?.() !== 0
        ? 'needs root for a network namespace'
        : undefined;

/** The .ko files of MODULES for KVER. */
export function guestModules(): string[] {
  return MODULES.map((m) => {
    const found = [`kernel/drivers/net/ethernet/intel/e1000/${m}.ko`, `kernel/net/sunrpc/${m}.ko`, `kernel/fs/nfs_common/${m}.ko`, `kernel/fs/lockd/${m}.ko`, `kernel/fs/netfs/${m}.ko`, `kernel/fs/fscache/${m}.ko`, `kernel/fs/nfs/${m}.ko`]
      .map((p) => `/lib/modules/${KVER}/${p}`)
      .find((p) => existsSync(p));
    assert.ok(found, `module ${m} not found`);
    return found;
  });
}

/** The shell lines of an /init that load MODULES and bring up 10.0.2.15 (then the caller's steps). */
export function initPrelude(): string {
  return `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${MODULES.join(' ')}; do insmod /m/$m.ko || echo "CAIRN-FAIL insmod-$m"; done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
check() { n=$1; shift; if "$@"; then echo "CAIRN-OK $n"; else echo "CAIRN-FAIL $n"; fi; }
`;
}

export interface GuestRun {
  console: string;
  seconds: string;
  oks: string[];
  fails: string[];
}

/**
 * Boots the guest in network namespace `ns` and waits for it to power off
 * (killed after `timeoutMs`); `append` goes on the kernel command line.
 * The test's cleanup kills QEMU by pid if it is still running.
 */
export async function runGuest(ns: string, initrd: string, append: string, after: (fn: () => Promise<void>) => void, timeoutMs = 90_000): Promise<GuestRun> {
  const qemu = spawn(
    'ip',
    [
      'netns', 'exec', ns, 'qemu-system-x86_64',
      '-accel', 'tcg', '-m', '256', '-smp', '1', '-no-reboot',
      '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
      '-kernel', `/boot/vmlinuz-${KVER}`, '-initrd', initrd,
      '-append', `console=ttyS0 quiet panic=-1 rdinit=/init ${append}`,
      '-netdev', 'user,id=n0', '-device', 'e1000,netdev=n0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(qemu, 'exit');
  after(async () => {
    if (qemu.exitCode === null && qemu.signalCode === null) {
      qemu.kill('SIGKILL');
      await exited;
    }
  });
  let console = '';
  qemu.stdout!.on('data', (d: Buffer) => (console += d.toString()));
  qemu.stderr!.on('data', (d: Buffer) => (console += d.toString()));
  const started = Date.now();
  const deadline = setTimeout(() => qemu.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(deadline);
  return {
    console,
    seconds: ((Date.now() - started) / 1000).toFixed(1),
    oks: [...console.matchAll(/^CAIRN-OK (\S+)/gm)].map((m) => m[1]!),
    fails: [...console.matchAll(/^CAIRN-FAIL (\S+)/gm)].map((m) => m[1]!),
  };
}

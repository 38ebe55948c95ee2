/**
 * Builds a tiny initramfs (cpio "newc", uncompressed) for a QEMU guest:
 * busybox, a few kernel modules and an /init script, and on request more
 * files (rpcUserland: the rpcbind and rpc.statd a kernel NFS client needs
 * for NLM locks). Written directly, so no shell pipeline is needed.
 */
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

export interface CpioEntry {
  path: string;
  /** File contents; absent for directories and symlinks. */
  data?: Buffer;
  mode: number;
  /** Symlink target. */
  target?: string;
}

function header(ino: number, mode: number, size: number, name: string): Buffer {
  const fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0];
  return Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'ascii');
}

function pad(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

export function cpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  const add = (name: string, mode: number, body: Buffer) => {
    push(header(ino++, mode, body.length, name));
    push(Buffer.from(name + '\0'));
    push(pad(offset));
    push(body);
    push(pad(offset));
  };
  for (const e of entries) {
    if (e.target !== undefined) add(e.path, 0o120777, Buffer.from(e.target));
    else if (e.data) add(e.path, 0o100000 | e.mode, e.data);
    else add(e.path, 0o040000 | e.mode, Buffer.alloc(0));
  }
  add('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

export const RPCBIND = '/usr/sbin/rpcbind';
export const RPC_STATD = '/usr/sbin/rpc.statd';

/**
 * rpcbind and rpc.statd with the shared libraries they load (as ldd lists
 * them, the dynamic loader included) and the few /etc files libtirpc and
 * glibc read: netconfig, rpc, services, protocols, a "files"-only
 * nsswitch.conf, users and hosts. The kernel's lockd registers with the
 * guest's rpcbind at mount time and asks its statd to monitor the server
 * before the first lock; without them a mount without `nolock` fails.
 */
export async function rpcUserland(): Promise<CpioEntry[]> {
  const run = promisify(execFile);
  const libs = new Set<string>();
  for (const bin of [RPCBIND, RPC_STATD]) {
    const { stdout } = await run('ldd', [bin]);
    for (const line of stdout.split('\n')) {
      const m = /=> (\/\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
      if (m) libs.add(m[1]!);
    }
  }
  const dirs = ['etc', 'lib', 'lib64', 'lib/x86_64-linux-gnu', 'usr', 'usr/sbin', 'run', 'run/rpcbind', 'var', 'var/lib', 'var/lib/nfs', 'var/lib/nfs/sm', 'var/lib/nfs/sm.bak'];
  const entries: CpioEntry[] = dirs.map((d) => ({ path: d, mode: 0o755 }));
  entries.push({ path: 'var/run', target: '/run', mode: 0o777 });
  for (const bin of [RPCBIND, RPC_STATD]) entries.push({ path: bin.slice(1), data: await readFile(bin), mode: 0o755 });
  for (const lib of libs) entries.push({ path: lib.slice(1), data: await readFile(realpathSync(lib)), mode: 0o755 });
  for (const f of ['netconfig', 'rpc', 'services', 'protocols']) entries.push({ path: `etc/${f}`, data: await readFile(`/etc/${f}`), mode: 0o644 });
  const text = (path: string, body: string): CpioEntry => ({ path, data: Buffer.from(body), mode: 0o644 });
  entries.push(
    text('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files\nrpc: files\nservices: files\nprotocols: files\n'),
    // rpcbind and statd run as these users when they exist: root here.
    text('etc/passwd', 'root:x:0:0::/:/bin/sh\n_rpc:x:0:0::/run/rpcbind:/bin/sh\nstatd:x:0:0::/var/lib/nfs:/bin/sh\n'),
    text('etc/group', 'root:x:0:\n'),
    text('etc/hosts', '127.0.0.1 localhost\n10.0.2.15 guest\n'),
  );
  return entries;
}

export async function writeInitramfs(out: string, opts: { busybox: string; modules: string[]; init: string; extra?: CpioEntry[] }): Promise<void> {
  const entries: CpioEntry[] = [
    ...['bin', 'proc', 'sys', 'dev', 'tmp', 'mnt', 'm'].map((d) => ({ path: d, mode: 0o755 })),
    { path: 'bin/busybox', data: await readFile(opts.busybox), mode: 0o755 },
    { path: 'bin/sh', target: 'busybox', mode: 0o777 },
    { path: 'init', data: Buffer.from(opts.init), mode: 0o755 },
  ];
  for (const m of opts.modules) {
    entries.push({ path: `m/${m.split('/').pop()}`, data: await readFile(m), mode: 0o644 });
  }
  entries.push(...(opts.extra ?? []));
  await writeFile(out, cpio(entries));
}

/**
 * Builds a tiny initramfs (cpio "newc", uncompressed) for a QEMU guest:
 * busybox, a few kernel modules and an /init script. Written directly, so
 * no shell pipeline is needed.
 */
import { readFile, writeFile } from 'node:fs/promises';

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

export async function writeInitramfs(out: string, opts: { busybox: string; modules: string[]; init: string }): Promise<void> {
  const entries: CpioEntry[] = [
    ...['bin', 'proc', 'sys', 'dev', 'tmp', 'mnt', 'm'].map((d) => ({ path: d, mode: 0o755 })),
    { path: 'bin/busybox', data: await readFile(opts.busybox), mode: 0o755 },
    { path: 'bin/sh', target: 'busybox', mode: 0o777 },
    { path: 'init', data: Buffer.from(opts.init), mode: 0o755 },
  ];
  for (const m of opts.modules) {
    entries.push({ path: `m/${m.split('/').pop()}`, data: await readFile(m), mode: 0o644 });
  }
  await writeFile(out, cpio(entries));
}

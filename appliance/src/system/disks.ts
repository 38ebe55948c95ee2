/**
 * Block devices, from `lsblk --json` (util-linux): the only code here that
 * runs lsblk. A listing for the console; preparing disks as bricks belongs
 * to pool/gluster.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Disk {
  name: string;
  path: string;
  sizeBytes: number;
  type: string;
  model: string | null;
  serial: string | null;
  fstype: string | null;
  mountpoint: string | null;
  children: Disk[];
}

interface LsblkDev {
  name: string;
  path?: string;
  size: number | string;
  type: string;
  model?: string | null;
  serial?: string | null;
  fstype?: string | null;
  mountpoint?: string | null;
  children?: LsblkDev[];
}

function toDisk(d: LsblkDev): Disk {
  return {
    name: d.name,
    path: d.path ?? `/dev/${d.name}`,
    sizeBytes: Number(d.size) || 0,
    type: d.type,
    model: d.model?.trim() || null,
    serial: d.serial?.trim() || null,
    fstype: d.fstype ?? null,
    mountpoint: d.mountpoint ?? null,
    children: (d.children ?? []).map(toDisk),
  };
}

export async function listDisks(): Promise<Disk[]> {
  const { stdout } = await run('lsblk', ['--json', '--bytes', '-o', 'NAME,PATH,SIZE,TYPE,MODEL,SERIAL,FSTYPE,MOUNTPOINT'], { timeout: 10_000 });
  const parsed = JSON.parse(stdout) as { blockdevices?: LsblkDev[] };
  return (parsed.blockdevices ?? []).filter((d) => d.type === 'disk' || d.type === 'loop').map(toDisk);
}

/**
 * The layout of a first replicated pool on one appliance: how many copies
 * of each file the picked disks allow. The API takes disks by whole
 * replica sets (replica + arbiter disks each, pool-tasks.ts), so only
 * layouts that divide the disk count are offered.
 */

export interface Layout {
  replica: number;
  arbiter: 0 | 1;
  /** What the admin reads. */
  label: string;
}

/** Layouts for `n` disks, the safest first; empty when none fits. */
export function layoutsFor(n: number): Layout[] {
  if (!Number.isInteger(n) || n < 1) return [];
  const out: Layout[] = [];
  if (n % 3 === 0) {
    out.push({ replica: 3, arbiter: 0, label: '3 copies of every file (survives 2 failed disks per set)' });
    out.push({ replica: 2, arbiter: 1, label: '2 copies and an arbiter (survives 1 failed disk per set, less space used)' });
  }
  if (n % 2 === 0) out.push({ replica: 2, arbiter: 0, label: '2 copies of every file (survives 1 failed disk per set)' });
  if (n === 1) out.push({ replica: 1, arbiter: 0, label: '1 copy: not replicated, a failed disk loses its data' });
  return out;
}

/** Why no layout fits `n` disks, as a sentence; null when one does. */
export function layoutProblem(n: number): string | null {
  if (n < 1 || layoutsFor(n).length) return null;
  return `${n} disks cannot be split into sets of 2 or 3: pick 2, 3, 4 or 6 disks (or another multiple of 2 or 3).`;
}

export const layoutKey = (l: Pick<Layout, 'replica' | 'arbiter'>) => `${l.replica}+${l.arbiter}`;

/** POST /pools: the first step; the disks follow as a task (POST /pools/:id/disks). */
export function emptyGlusterPool(id: string, l: Pick<Layout, 'replica' | 'arbiter'>) {
  return { id, kind: 'gluster' as const, replica: l.replica, ...(l.arbiter ? { arbiter: l.arbiter } : {}), bricks: [] as never[] };
}

/**
 * The API names a disk by its place in the request (`disks.1`, or `disk`
 * for replace-brick); the page shows one checkbox per disk named
 * `<key>.<path>`. Moves each field error beside its disk's checkbox; the
 * others stay as they are.
 */
export function disksFieldErrors(fields: Record<string, string[]>, key: 'disks' | 'disk', chosen: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(fields)) {
    let to = k;
    const m = new RegExp(`^${key}\\.(\\d+)$`).exec(k);
    if (m && chosen[Number(m[1])] !== undefined) to = `${key}.${chosen[Number(m[1])]}`;
    else if (k === key && key === 'disk' && chosen.length === 1) to = `disk.${chosen[0]}`;
    (out[to] ??= []).push(...v);
  }
  return out;
}

/** "/dev/sdb — 3.64 TiB WDC WD40" (a loop device says it is a file). */
export function diskLabel(d: { path: string; sizeBytes?: number; model?: string | null; type?: string }, size: (n: number | undefined) => string): string {
  return `${d.path} — ${size(d.sizeBytes)}${d.model ? ` ${d.model}` : ''}${d.type === 'loop' ? ' (a file, loop device)' : ''}`;
}

/**
 * `cairnd mount-bricks [--data-dir DIR]`: mounts every brick disk recorded
 * under DIR/bricks (brick-mounts.ts: each record names its filesystem by
 * UUID) that is not mounted yet, then exits. On the image a oneshot unit
 * (cairn-bricks.service) runs it before glusterd, so that glusterd starts
 * each brick on its own disk at boot instead of finding bare mount points
 * (where it refuses to start the brick, leaving it to cairnd's restart).
 * A disk that is absent or fails to mount is reported and skipped: the
 * exit code is 0 unless the records cannot be read at all, so that
 * glusterd still starts the bricks that are there.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR } from '../../cli/args.js';
import { EXIT, UsageError } from '../../cli/errors.js';
import { ensureMounted, mountPoints, readBrickRecord } from './brick-mounts.js';

export async function mountBricksCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(`mount-bricks: ${(e as Error).message}; usage: cairnd mount-bricks [--data-dir DIR]`, EXIT.usage);
  }
  const dir = join(values['data-dir'] || DEFAULT_DATA_DIR, 'bricks');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stdout.write(`no brick disks recorded in ${dir}\n`);
      return 0;
    }
    throw e;
  }
  const mounted = await mountPoints();
  for (const name of names) {
    const brickDir = join(dir, name.slice(0, -'.json'.length), 'brick');
    const rec = await readBrickRecord(brickDir).catch((e: unknown) => {
      process.stderr.write(`${join(dir, name)}: ${(e as Error).message}\n`);
      return undefined;
    });
    if (!rec) continue;
    const out = await ensureMounted(rec, mounted);
    const what =
      out.state === 'mounted'
        ? 'already mounted'
        : out.state === 'mounted-now'
          ? `mounted ${out.device}`
          : out.state === 'disk-missing'
            ? `disk (XFS filesystem UUID ${out.fsUuid}) not attached`
            : `not mounted: ${out.message}`;
    (out.state === 'mounted' || out.state === 'mounted-now' ? process.stdout : process.stderr).write(`brick ${rec.id} at ${rec.mountPoint}: ${what}\n`);
  }
  return 0;
}

/**
 * The data directory holds everything cairnd keeps: the state document,
 * Samba's private files, the local pool. It must exist and be writable
 * before anything else starts; what is wrong is said in one line.
 */
import { stat, writeFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError, EXIT } from './cli/errors.js';

export async function checkDataDir(dir: string): Promise<string> {
  const abs = resolve(dir);
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UsageError(`data directory ${abs} does not exist: create it (mkdir -p ${abs}) or pass --data-dir`, EXIT.cantCreate);
    }
    throw new UsageError(`data directory ${abs} cannot be read (${code}): fix its permissions or pass --data-dir`, EXIT.cantCreate);
  }
  if (!st.isDirectory()) {
    throw new UsageError(`data directory ${abs} is not a directory: pass --data-dir with a directory`, EXIT.cantCreate);
  }
  // access(W_OK) lies for root and says nothing of read-only mounts: try it.
  const probe = join(abs, `.cairnd-write-test-${process.pid}`);
  try {
    await writeFile(probe, 'ok');
    await unlink(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      `data directory ${abs} is not writable (${code}): fix its permissions or mount, or pass --data-dir`,
      EXIT.cantCreate,
    );
  }
  return abs;
}

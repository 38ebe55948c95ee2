/**
 * smb.conf model → text, and the one way files are written here: atomically
 * (temp file in the same directory, fsync, rename, fsync of the directory)
 * and only when the content differs, so an unchanged state touches nothing
 * and a crash leaves the old file or the new one, never half of either.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../state/atomic.js';
import type { SmbConfModel, SmbConfSection } from './generate.js';

const HEADER = '# Written by cairnd from its desired state; edits here are overwritten.\n';

function section(name: string, params: SmbConfSection): string {
  const lines = [`[${name}]`];
  for (const [k, v] of Object.entries(params)) lines.push(`\t${k} = ${v}`);
  return lines.join('\n') + '\n';
}

export function renderSmbConf(model: SmbConfModel): string {
  const parts = [HEADER, section('global', model.global)];
  for (const [name, params] of Object.entries(model.shares)) parts.push('\n' + section(name, params));
  return parts.join('');
}

/**
 * Writes `content` to `path` unless it already holds exactly that. Returns
 * whether the file changed. `mode` applies to a newly written file.
 */
export async function writeFileIfChanged(path: string, content: string, mode = 0o644): Promise<boolean> {
  try {
    if ((await readFile(path, 'utf8')) === content) return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await writeFileAtomic(path, content, mode);
  return true;
}


/**
 * `npm run -w appliance bench:nfs-proto [-- MIB ROUNDS]`: a quick benchmark
 * of the protocol layer with the libnfs C client (one call in flight):
 * sequential 1 MiB WRITE (+COMMIT) and READ of MIB MiB, GETATTR rate, and 8
 * concurrent clients, against `nfs-serve` with the posix and memory
 * backends, alternating, median of ROUNDS. Prints numbers; asserts nothing.
 * (The Ganesha comparison of the issue is a separate benchmark.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClient, nfsServe, tool } from './helpers/nfs-serve.js';

const mib = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 3);
const cleanups: Array<() => Promise<void>> = [];
const fakeT = { after: (fn: () => Promise<void>) => cleanups.push(fn) } as unknown as import('node:test').TestContext;
const client = await buildClient((fn) => cleanups.push(fn));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Row = { writeMiBps: number[]; readMiBps: number[]; getattrPerSec: number[]; clients8MiBps: number[] };
const results: Record<string, Row> = {};
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['posix', 'memory'] : ['memory', 'posix'];
    for (const backend of order) {
      const dir = await mkdtemp(join(tmpdir(), 'cairn-nfs-bench-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const s = await nfsServe(fakeT, ['--backend', backend], { dir });
      const r = await tool(client, ['bench', s.url(), String(mib), '20000'], 600_000);
      if (r.code !== 0) throw new Error(`bench failed: ${r.stdout}${r.stderr}`);
      const one = JSON.parse(r.stdout.trim().split('\n').pop()!) as { writeMiBps: number; readMiBps: number; getattrPerSec: number };
      const per = 32;
      const start = Date.now();
      const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => tool(client, ['rw', s.url(), `c${i}`, String(per << 20)], 600_000)));
      if (runs.some((x) => x.code !== 0)) throw new Error('concurrent clients failed');
      const agg = (8 * per * 2) / ((Date.now() - start) / 1000);
      const row = (results[backend] ??= { writeMiBps: [], readMiBps: [], getattrPerSec: [], clients8MiBps: [] });
      row.writeMiBps.push(one.writeMiBps);
      row.readMiBps.push(one.readMiBps);
      row.getattrPerSec.push(one.getattrPerSec);
      row.clients8MiBps.push(Math.round(agg));
      await s.stop();
    }
  }
  process.stdout.write(`median of ${rounds} rounds, ${mib} MiB sequential, 1 MiB calls, libnfs sync client\n`);
  process.stdout.write('backend   write MiB/s   read MiB/s   GETATTR/s   8 clients write+read MiB/s\n');
  for (const [backend, row] of Object.entries(results)) {
    process.stdout.write(
      `${backend.padEnd(8)}  ${String(median(row.writeMiBps)).padStart(11)}  ${String(median(row.readMiBps)).padStart(11)}  ${String(median(row.getattrPerSec)).padStart(10)}  ${String(median(row.clients8MiBps)).padStart(10)}\n`,
    );
  }
} finally {
  for (const c of cleanups.reverse()) await c();
}

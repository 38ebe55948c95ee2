/**
 * `npm run fuzz:nfs [-- COUNT [SEED]]`: the long fuzz run (default
 * 1,000,000 inputs) over the RPC/XDR decoding path. Exits non-zero on the
 * first failure, printing the seed to replay it.
 */
import { fuzz } from './helpers/fuzz.js';

const count = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 0xffffffff);
process.stdout.write(`fuzzing ${count} inputs, seed ${seed}\n`);
try {
  let nextReport = 0;
  const r = await fuzz(count, seed, (done) => {
    if (done < nextReport) return;
    nextReport += 100_000;
    process.stdout.write(`  ${done} inputs, heap ${Math.round(process.memoryUsage().heapUsed / 1048576)} MiB\n`);
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
} catch (e) {
  process.stderr.write(`fuzz failure with seed ${seed}: ${(e as Error).stack}\n`);
  process.exit(1);
}

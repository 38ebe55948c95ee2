/**
 * `npm run fuzz:nfs [-- COUNT [SEED]] [--posix [--tcp]]`: the long fuzz
 * run (default 1,000,000 inputs) over the RPC/XDR decoding path, or with
 * `--posix` the stateful fuzzer over the posix backend (needs root), with
 * `--tcp` through a real server over 4 connections. Exits
 * non-zero on the first failure, printing the seed to replay it.
 */
import { fuzzBackend, posixWorld } from './helpers/backend-fuzz.js';
import { fuzz } from './helpers/fuzz.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const posix = process.argv.includes('--posix');
const tcp = process.argv.includes('--tcp') ? 4 : undefined;
const count = Number(args[0] ?? 1_000_000);
const seed = Number(args[1] ?? Date.now() % 0xffffffff);
process.stdout.write(`fuzzing ${count} inputs${posix ? ' through the posix backend' : ''}, seed ${seed}\n`);
try {
  let nextReport = 0;
  const progress = (done: number) => {
    if (done < nextReport) return;
    nextReport += 100_000;
    process.stdout.write(`  ${done} inputs, heap ${Math.round(process.memoryUsage().heapUsed / 1048576)} MiB\n`);
  };
  const r = posix ? await fuzzBackend(posixWorld, { inputs: count, seed, rounds: Math.max(1, Math.round(count / 10_000)), tcp, onProgress: progress }) : await fuzz(count, seed, progress);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} catch (e) {
  process.stderr.write(`fuzz failure with seed ${seed}: ${(e as Error).stack}\n`);
  process.exit(1);
}

/**
 * The crash test of the state store: a child process makes 1,000 changes
 * and is killed with SIGKILL at random moments. After every kill the store
 * is reopened (as a restarting cairnd would): the document must parse, be
 * valid, and equal either the last acknowledged revision or the one that
 * was being committed when the child died — never anything else — and the
 * history must run 1..current without gaps or leftovers.
 *
 * It runs on /dev/shm when there is one: a killed process leaves the page
 * cache intact, so what a kill -9 can tear is the order of writes and
 * renames, not what fsync protects (power loss), and tmpfs makes the 1,000
 * commits cheap on a busy machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initialState } from '../../src/state/schema.js';
import { StateStore } from '../../src/state/store.js';
import { docHash } from './fixtures/churn.js';

const CHURN = fileURLToPath(new URL('./fixtures/churn.js', import.meta.url));
const CHANGES = 1000;

test('kill -9 at random points never leaves a torn or unknown document (1,000 changes)', async (t) => {
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cairn-crash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const accepted = new Map<number, string>(); // revision → hash acknowledged by the child
  const target = CHANGES + 1; // revision 1 is the initial document
  let kills = 0;
  let recoveredInFlight = 0;
  for (let round = 0; round < 500; round++) {
    const child = spawn(process.execPath, [CHURN, dir, String(target)], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let begun: { rev: number; hash: string } | undefined;
    let done = false;
    const exited = once(child, 'exit');
    const lines = createInterface({ input: child.stdout! });
    let readyResolve!: () => void;
    const ready = new Promise<void>((r) => (readyResolve = r));
    // Kill after a random number of commits plus a random fraction of one
    // more: the kill lands anywhere in the write/fsync/rename sequence, and
    // the number of rounds does not depend on how busy the machine is.
    const killAfter = 40 + Math.floor(Math.random() * 120);
    let oks = 0;
    let killTimer: NodeJS.Timeout | undefined;
    lines.on('line', (line) => {
      const [kind, rev, hash] = line.split(' ');
      if (kind === 'READY') readyResolve();
      if (kind === 'BEGIN') begun = { rev: Number(rev), hash: hash! };
      if (kind === 'OK') {
        accepted.set(Number(rev), hash!);
        if (++oks === killAfter) killTimer = setTimeout(() => child.kill('SIGKILL'), Math.random() * 6);
      }
      if (kind === 'DONE') done = true;
    });
    await Promise.race([ready, exited]);
    const [code, signal] = (await exited) as [number | null, string | null];
    clearTimeout(killTimer);
    await new Promise((r) => setImmediate(r)); // let the last stdout lines arrive
    if (signal === 'SIGKILL') kills++;
    else assert.equal(code, 0, 'the churn child failed');

    // Restart: reopen the store, as cairnd does on start.
    const store = await StateStore.open(dir, { initial: () => initialState('/srv/cairn'), keepRevisions: 100_000 });
    const rev = store.revision;
    const hash = docHash(store.state);
    const lastOk = Math.max(0, ...accepted.keys());
    if (rev === lastOk || (rev === 1 && lastOk === 0)) {
      if (lastOk > 0) assert.equal(hash, accepted.get(rev), `revision ${rev} differs from what was acknowledged`);
    } else {
      assert.ok(begun && rev === begun.rev && rev === lastOk + 1, `revision ${rev} is neither the acknowledged ${lastOk} nor the one in flight ${begun?.rev}`);
      assert.equal(hash, begun.hash, 'the in-flight revision on disk differs from the one being committed');
      accepted.set(rev, hash); // it committed: later rounds build on it
      recoveredInFlight++;
    }
    const history = store.revisionNumbers();
    assert.deepEqual(history, Array.from({ length: rev }, (_, i) => i + 1), 'history has gaps');
    const files = await readdir(join(dir, 'revisions'));
    assert.equal(files.length, rev, `revision files beyond ${rev} or temp files left: ${files.filter((f) => !/^\d{8}\.json$/.test(f))}`);
    assert.ok(!(await readdir(dir)).some((f) => f.includes('.tmp-')), 'temp files left');
    if (done || rev >= target) break;
  }
  const final = await StateStore.open(dir, { initial: () => initialState('/srv/cairn') });
  assert.equal(final.revision, target, 'all 1,000 changes were eventually made');
  assert.ok(kills >= 3, `the child was killed mid-stream (${kills} kills)`);
  t.diagnostic(`${kills} kills, ${recoveredInFlight} in-flight commits found on disk after a kill`);
});

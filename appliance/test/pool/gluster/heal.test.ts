// Heal progress math (heal.ts) and the mountinfo parser (brick-mounts.ts):
// pure functions, no glusterd. heal-count text captured from Debian
// glusterfs 10.3 with one brick of a replica 3 down (fixtures/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { HealTracker, healEta, healRate, parseHealCount, pendingOf, splitBrainOf, splitBrainProblem, type HealCountBrick } from '../../../src/pool/gluster/heal.js';
import { parseCliOutput, parseHealInfo } from '../../../src/pool/gluster/xml.js';
import { brickIdentity, parseMountinfo, parseMountSources, recordPathOf } from '../../../src/pool/gluster/brick-mounts.js';
import { formatSeconds } from '../../../src/pool/gluster/driver.js';
import type { GlusterCli } from '../../../src/pool/gluster/cli.js';
import { GlusterVolumes } from '../../../src/pool/gluster/volumes.js';

const FIXTURES = new URL('../../../../test/pool/gluster/fixtures/', import.meta.url);

const counts = (...n: Array<number | null>): HealCountBrick[] =>
  n.map((entries, i) => ({ brick: `h:/b${i}/brick`, connected: entries !== null, entries }));

test('parseHealCount: per brick, a brick that is down has no count', async () => {
  const text = await readFile(new URL('heal-count-brick-down.txt', FIXTURES), 'utf8');
  const b = parseHealCount(text);
  assert.equal(b.length, 3);
  assert.deepEqual(b[0], { brick: '10.237.196.2:/tmp/cairn-gl-0b43f0-wuK6e6/bricks/gv-1/brick', connected: false, entries: null });
  assert.deepEqual(
    b.slice(1).map((x) => [x.connected, x.entries]),
    [
      [true, 305],
      [true, 305],
    ],
  );
  assert.equal(pendingOf(b, 3), 305, 'one entry on two bricks is one entry to heal');
  assert.deepEqual(parseHealCount('Gathering count of entries to be healed on volume v has been successful\n'), []);
});

test('pendingOf: largest count per replica set, summed over sets', () => {
  assert.equal(pendingOf(counts(0, 0, 0), 3), 0);
  assert.equal(pendingOf(counts(4, 7, null, 0, 2, 2), 3), 9);
  assert.equal(pendingOf(counts(3, 1), 1), 4, 'distribute only: every brick its own set');
});

test('healRate: least-squares slope, never negative, null without two samples in time', () => {
  assert.equal(healRate([]), null);
  assert.equal(healRate([{ at: 0, pending: 10 }]), null);
  assert.equal(healRate([{ at: 5, pending: 10 }, { at: 5, pending: 8 }]), null);
  // 100 → 80 → 60 over 10 s: 4 entries/s.
  assert.equal(healRate([{ at: 0, pending: 100 }, { at: 5000, pending: 80 }, { at: 10_000, pending: 60 }]), 4);
  // Noise around a steady fall: the fit, not the last step (which says 0).
  const r = healRate([{ at: 0, pending: 100 }, { at: 5000, pending: 88 }, { at: 10_000, pending: 82 }, { at: 15_000, pending: 82 }])!;
  assert.ok(r > 1 && r < 2, String(r));
  // Growing (writes while a brick is down): nothing heals.
  assert.equal(healRate([{ at: 0, pending: 10 }, { at: 5000, pending: 30 }]), 0);
});

test('healEta: seconds rounded up; null when nothing falls', () => {
  assert.equal(healEta(0, null), 0);
  assert.equal(healEta(60, 4), 15);
  assert.equal(healEta(61, 4), 16);
  assert.equal(healEta(10, 0), null);
  assert.equal(healEta(10, null), null);
});

test('HealTracker: rate and ETA from successive samples, window and fresh episodes', () => {
  const tr = new HealTracker(60_000);
  let p = tr.add(counts(null, 300, 300), 3, 0);
  assert.deepEqual(p, { pending: 300, perBrick: [{ brick: 'h:/b1/brick', pending: 300 }, { brick: 'h:/b2/brick', pending: 300 }], ratePerSec: null, etaSeconds: null, sampledAt: new Date(0).toISOString() });
  p = tr.add(counts(0, 300, 300), 3, 5000);
  assert.equal(p.ratePerSec, 0, 'no fall yet');
  assert.equal(p.etaSeconds, null);
  p = tr.add(counts(0, 250, 250), 3, 10_000);
  p = tr.add(counts(0, 200, 200), 3, 15_000);
  // The plateau at 300 is still in the fit: slower than the recent 10/s.
  assert.ok(p.ratePerSec! > 5 && p.ratePerSec! < 10, String(p.ratePerSec));
  assert.equal(p.etaSeconds, Math.ceil(200 / healRate([{ at: 0, pending: 300 }, { at: 5000, pending: 300 }, { at: 10_000, pending: 250 }, { at: 15_000, pending: 200 }])!));
  for (const [t, n] of [[20_000, 150], [25_000, 100], [30_000, 50]] as const) p = tr.add(counts(0, n, n), 3, t);
  // 70 s later the plateau has left the 60 s window: the fall alone, 10/s.
  p = tr.add(counts(0, 0, 0), 3, 35_000);
  assert.equal(p.pending, 0);
  assert.equal(p.etaSeconds, 0);
  // Rising while a brick is down, then falling: the rate is the fall's alone.
  const rise = new HealTracker();
  for (const [t, n] of [[0, 10], [5000, 200], [10_000, 300], [15_000, 300], [20_000, 250], [25_000, 200]] as const) p = rise.add(counts(null, n, n), 3, t);
  assert.equal(p.ratePerSec, 7, 'the plateau since the last rise is in (fit of 300 300 250 200), the rise is not');
  const late = new HealTracker(20_000);
  for (const [t, n] of [[0, 500], [30_000, 500], [40_000, 400], [45_000, 350], [50_000, 300]] as const) p = late.add(counts(n, n, n), 3, t);
  assert.equal(p.ratePerSec, 10);
  assert.equal(p.etaSeconds, 30);
  // A new episode starts from its own samples.
  p = tr.add(counts(0, 40, 40), 3, 200_000);
  assert.equal(p.ratePerSec, null);
  p = tr.add(counts(0, 20, 20), 3, 205_000);
  assert.equal(p.ratePerSec, 4);
  assert.equal(p.etaSeconds, 5);
});

test('parseMountinfo: mount points with escapes; recordPathOf', () => {
  const text = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '97 22 7:3 / /var/lib/cairn/bricks/p-1 rw,noatime shared:50 - xfs /dev/loop3 rw,inode64',
    '98 22 7:4 / /mnt/with\\040space rw - xfs /dev/loop4 rw',
  ].join('\n');
  const m = parseMountinfo(text);
  assert.ok(m.has('/var/lib/cairn/bricks/p-1'));
  assert.ok(m.has('/mnt/with space'));
  assert.ok(!m.has('/var/lib/cairn/bricks/p-2'));
  assert.equal(recordPathOf('/var/lib/cairn/bricks/p-1/brick'), '/var/lib/cairn/bricks/p-1.json');
  assert.equal(recordPathOf('/srv/gluster/b1'), undefined);
});

test('parseMountSources: the device mounted at each mount point', () => {
  const text = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '97 22 7:3 / /var/lib/cairn/bricks/p-1 rw,noatime shared:50 master:2 - xfs /dev/loop3 rw,inode64',
    '98 22 7:4 / /mnt/with\\040space rw - xfs /dev/loop4 rw',
  ].join('\n');
  const m = parseMountSources(text);
  assert.equal(m.get('/var/lib/cairn/bricks/p-1'), '/dev/loop3', 'optional fields before the separator are skipped');
  assert.equal(m.get('/mnt/with space'), '/dev/loop4');
  assert.equal(m.get('/'), '/dev/sda1');
});

test('brickIdentity: the state names the disk; a record or mount of another filesystem is not the brick', () => {
  const u = '6f1c1b2a-0c7e-4a57-9a0e-2b1d6f3c9e11';
  const other = '0b0b0b0b-1111-2222-3333-444444444444';
  assert.equal(brickIdentity(undefined, other, other), 'ok', 'bricks the state names no filesystem for are not judged');
  assert.equal(brickIdentity(u, u, u), 'ok');
  assert.equal(brickIdentity(u, u.toUpperCase(), undefined), 'ok', 'UUIDs compare without case');
  assert.equal(brickIdentity(u, other, u), 'record-differs');
  assert.equal(brickIdentity(u, u, other), 'mounted-differs');
  assert.equal(brickIdentity(u, undefined, undefined), 'ok');
});

test('formatSeconds', () => {
  assert.equal(formatSeconds(45), '45 s');
  assert.equal(formatSeconds(200), '3 min 20 s');
  assert.equal(formatSeconds(3900), '1 h 5 min');
});

test('split-brain: counted per replica set from heal info summary, shown as a problem with how to resolve it', async () => {
  // heal-summary.xml (Debian 10.3) with two bricks' counts edited to 2 files in split-brain.
  const bricks = parseHealInfo(parseCliOutput(await readFile(new URL('heal-summary-split-brain.xml', FIXTURES), 'utf8')));
  assert.deepEqual(bricks.map((b) => b.splitBrain), [2, 2, 0]);
  assert.equal(splitBrainOf(bricks, 3), 2, 'a file on two bricks of a set is one file');
  assert.equal(splitBrainOf([{ splitBrain: 2 }, {}, { splitBrain: 1 }, { splitBrain: 0 }], 2), 3, 'sets add up; a brick not asked counts 0');
  assert.equal(splitBrainOf([], 3), 0);
  assert.equal(splitBrainProblem('gv', 0), undefined);
  const one = splitBrainProblem('gv', 1)!;
  assert.match(one, /^1 file is in split-brain/);
  assert.match(one, /gluster volume heal gv info split-brain/);
  assert.match(one, /gluster volume heal gv split-brain latest-mtime <file>/);
  assert.match(splitBrainProblem('gv', 4)!, /^4 files are in split-brain/);
});

test('GlusterVolumes.heal: an answer that names no brick, or a connected brick without a count, is never "healed"', async () => {
  const answer = { xml: '' };
  const cli = { run: async () => parseCliOutput(answer.xml) } as unknown as GlusterCli;
  const volumes = new GlusterVolumes(cli);

  answer.xml = await readFile(new URL('heal-summary.xml', FIXTURES), 'utf8');
  assert.deepEqual(await volumes.heal('gv').then((h) => [h.pending, h.unreachable]), [0, 0]);

  // glusterd answering while a peer comes back: opRet 0 and no bricks.
  answer.xml = '<?xml version="1.0"?><cliOutput><healInfo><bricks></bricks></healInfo><opRet>0</opRet><opErrno>0</opErrno><opErrstr/></cliOutput>';
  await assert.rejects(volumes.heal('gv'), { code: 'GLUSTER_BAD_OUTPUT', message: /no brick in the answer/ });

  // Connected, but "-" for the count: its entries are unknown, not 0.
  answer.xml = (await readFile(new URL('heal-summary.xml', FIXTURES), 'utf8')).replace('<totalNumberOfEntries>0</totalNumberOfEntries>', '<totalNumberOfEntries>-</totalNumberOfEntries>');
  const h = await volumes.heal('gv');
  assert.equal(h.bricks[0]!.connected, true);
  assert.equal(h.bricks[0]!.entries, null);
  assert.equal(h.unreachable, 1);

  answer.xml = await readFile(new URL('heal-summary-down.xml', FIXTURES), 'utf8');
  assert.equal((await volumes.heal('gv')).unreachable, 1);
});

/**
 * One creator per cluster pool's volume. In a cluster every appliance's
 * GlusterPoolDriver sees every pool (shared state); only the host of the
 * pool's first brick creates, tunes and starts the volume, the others
 * report "waiting for node1 to …" as progress (no problem) and pick the
 * volume up once it is started; after the grace time a waiting appliance
 * takes over. One appliance (no other peer named like the first brick's
 * host, or no `host`) creates at once, as before.
 *
 * Against a fake `gluster` CLI: one in-memory trusted pool answered in
 * glusterd's XML, one CLI per appliance (each sees the others as peers),
 * every mutating command recorded with the appliance that ran it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlusterCli, type RunOptions } from '../../../src/pool/gluster/cli.js';
import { GlusterPoolDriver, volumeCreatorOf } from '../../../src/pool/gluster/driver.js';
import { GlusterError } from '../../../src/pool/gluster/errors.js';
import { parseCliOutput, type CliOutput } from '../../../src/pool/gluster/xml.js';
import { initialState, type GlusterPool, type State } from '../../../src/state/schema.js';

interface FakeVolume {
  state: 'Created' | 'Started';
  bricks: string[];
  replica: number;
  options: Map<string, string>;
}

const ok = (body: string) => `<?xml version="1.0"?><cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/>${body}</cliOutput>`;
const failed = (msg: string) => `<?xml version="1.0"?><cliOutput><opRet>-1</opRet><opErrno>30800</opErrno><opErrstr>${msg}</opErrstr></cliOutput>`;

/** The trusted pool's glusterd state, shared by every appliance's CLI. */
class FakeCluster {
  readonly volumes = new Map<string, FakeVolume>();
  /** "node2: volume create vm …" for every command that changes something. */
  readonly changes: string[] = [];
  constructor(readonly hosts: string[]) {}

  answer(self: string, args: readonly string[]): string {
    const [a, b, name] = args;
    const cmd = `${a} ${b}`;
    const v = name === undefined ? undefined : this.volumes.get(name);
    const missing = failed(`Volume ${name} does not exist`);
    switch (cmd) {
      case 'peer status':
        return ok(`<peerStatus>${this.hosts.filter((h) => h !== self).map((h, i) =>
          `<peer><uuid>00000000-0000-0000-0000-00000000000${i}</uuid><hostname>${h}</hostname><hostnames><hostname>${h}</hostname></hostnames><connected>1</connected><state>3</state><stateStr>Peer in Cluster</stateStr></peer>`).join('')}</peerStatus>`);
      case 'pool list':
        return ok(`<peerStatus><peer><uuid>11111111-1111-1111-1111-111111111111</uuid><hostname>localhost</hostname><connected>1</connected><state>3</state><stateStr>Peer in Cluster</stateStr></peer></peerStatus>`);
      case 'volume list':
        return ok(`<volList><count>${this.volumes.size}</count>${[...this.volumes.keys()].map((n) => `<volume>${n}</volume>`).join('')}</volList>`);
      case 'volume info':
        if (!v) return missing;
        return ok(`<volInfo><volumes><volume><name>${name}</name><id>d22062fa-e899-4146-8dba-03b6c7bed056</id><statusStr>${v.state}</statusStr>` +
          `<brickCount>${v.bricks.length}</brickCount><distCount>1</distCount><replicaCount>${v.replica}</replicaCount><arbiterCount>0</arbiterCount><typeStr>Replicate</typeStr>` +
          `<bricks>${v.bricks.map((br) => `<brick uuid="u">${br}<name>${br}</name><hostUuid>u</hostUuid><isArbiter>0</isArbiter></brick>`).join('')}</bricks>` +
          `<options>${[...v.options].map(([k, val]) => `<option><name>${k}</name><value>${val}</value></option>`).join('')}</options></volume><count>1</count></volumes></volInfo>`);
      case 'volume create': {
        this.changes.push(`${self}: ${args.join(' ')}`);
        if (v) return failed(`Volume ${name} already exists`);
        const replica = args[3] === 'replica' ? Number(args[4]) : 1;
        this.volumes.set(name!, { state: 'Created', bricks: args.slice(args[3] === 'replica' ? 5 : 3).filter((x) => x !== 'force'), replica, options: new Map() });
        return ok(`<volCreate><volume><name>${name}</name><id>d22062fa-e899-4146-8dba-03b6c7bed056</id></volume></volCreate>`);
      }
      case 'volume set':
        if (!v) return missing;
        this.changes.push(`${self}: ${args.join(' ')}`);
        v.options.set(args[3]!, args[4]!);
        return ok('<cliOp>volSet</cliOp><output>Set volume successful</output>');
      case 'volume start':
        if (!v) return missing;
        this.changes.push(`${self}: ${args.join(' ')}`);
        if (v.state === 'Started' && args[3] !== 'force') return failed(`Volume ${name} already started`);
        v.state = 'Started';
        return ok(`<volStart><volume><name>${name}</name><id>d22062fa-e899-4146-8dba-03b6c7bed056</id></volume></volStart>`);
      case 'volume status':
        if (!v) return missing;
        return ok(`<volStatus><volumes><volume><volName>${name}</volName><nodeCount>${v.bricks.length}</nodeCount>${v.bricks.map((br) => {
          const [host, path] = br.split(':');
          return `<node><hostname>${host}</hostname><path>${path}</path><peerid>p</peerid><status>1</status><port>49152</port><pid>1</pid><sizeTotal>1073741824</sizeTotal><sizeFree>1000000000</sizeFree></node>`;
        }).join('')}</volume></volumes></volStatus>`);
      default:
        throw new Error(`fake gluster: unexpected command ${args.join(' ')}`);
    }
  }

  heal(args: readonly string[]): string {
    const v = this.volumes.get(args[2]!);
    if (!v) throw new GlusterError('GLUSTER_FAILED', `Volume ${args[2]} does not exist`);
    return `Gathering count of entries to be healed on volume ${args[2]} has been successful\n\n${v.bricks.map((br) => `Brick ${br}\nNumber of entries: 0\n`).join('\n')}`;
  }
}

/** The CLI as one appliance runs it. */
class FakeCli extends GlusterCli {
  constructor(private readonly cluster: FakeCluster, private readonly self: string) {
    super({ command: ['/nonexistent/gluster'] });
  }
  override async run(args: readonly string[], _opts?: RunOptions): Promise<CliOutput> {
    return parseCliOutput(this.cluster.answer(this.self, args), args.join(' '));
  }
  override async runPlain(args: readonly string[], _opts?: RunOptions): Promise<string> {
    return this.cluster.heal(args);
  }
}

const HOSTS = ['node1', 'node2', 'node3'];

function stateWith(bricks: Array<[string, string]>): State {
  const s = initialState('/var/lib/cairn');
  const pool: GlusterPool = { id: 'vm', kind: 'gluster', label: 'replicated', replica: 3, arbiter: 0, bricks: bricks.map(([host, path]) => ({ host, path })) };
  s.pools.push(pool);
  return s;
}
const clusterState = () => stateWith(HOSTS.map((h) => [h, `/nonexistent/cairn-test/${h}/vm`]));

function drivers(cluster: FakeCluster, opts: { creatorGraceMs?: number } = {}) {
  const asked: string[] = [];
  const ds = HOSTS.map((host) => new GlusterPoolDriver({
    cli: new FakeCli(cluster, host),
    host,
    creatorGraceMs: opts.creatorGraceMs ?? 60_000,
    healSampleMs: 50,
    watchMs: 50,
    requestReconcile: () => asked.push(host),
  }));
  return { ds, asked };
}

test('the creator of a pool\'s volume is its first brick\'s host', () => {
  assert.equal(volumeCreatorOf({ bricks: [{ host: 'node2', path: '/b' }, { host: 'node1', path: '/b' }] }), 'node2');
  assert.equal(volumeCreatorOf({ bricks: [] }), undefined);
});

test('every appliance applies a new cluster pool at once: only node1 creates, tunes and starts; the others wait without a problem', async (t) => {
  const cluster = new FakeCluster(HOSTS);
  const { ds, asked } = drivers(cluster);
  t.after(() => Promise.all(ds.map((d) => d.close())));
  const state = clusterState();
  const signal = new AbortController().signal;
  // node2 and node3 get there first (their reconcilers ran before node1's).
  const [r2, r3] = await Promise.all([ds[1]!.apply(state, signal), ds[2]!.apply(state, signal)]);
  for (const [r, d] of [[r2, ds[1]!], [r3, ds[2]!]] as const) {
    assert.deepEqual(r.problems, [], 'waiting is progress, not a problem');
    assert.match(r.summary ?? '', /0\/1 gluster pool\(s\) healthy; vm: waiting for node1 to create the volume/);
    assert.equal(d.poolWaiting('vm'), 'waiting for node1 to create the volume');
  }
  assert.equal(cluster.changes.length, 0, 'nobody but node1 touched glusterd');

  const r1 = await ds[0]!.apply(state, signal);
  assert.deepEqual(r1.problems, []);
  assert.equal(r1.summary, '1/1 gluster pool(s) healthy');
  assert.equal(ds[0]!.poolWaiting('vm'), null);
  assert.ok(cluster.changes.length > 3, JSON.stringify(cluster.changes));
  assert.ok(cluster.changes.every((c) => c.startsWith('node1: ')), JSON.stringify(cluster.changes));
  assert.equal(cluster.changes.filter((c) => / volume create vm /.test(` ${c.slice(7)} `)).length, 1);
  assert.equal(cluster.volumes.get('vm')?.state, 'Started');

  // The waiting appliances' watch sees the started volume and asks for a pass.
  const until = Date.now() + 5000;
  while (!(asked.includes('node2') && asked.includes('node3'))) {
    assert.ok(Date.now() < until, `a pass was asked for by ${JSON.stringify(asked)} only`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const before = cluster.changes.length;
  for (const d of ds.slice(1)) {
    const r = await d.apply(state, signal);
    assert.deepEqual(r.problems, []);
    assert.equal(r.summary, '1/1 gluster pool(s) healthy');
    assert.equal(d.poolWaiting('vm'), null);
    assert.ok((d.poolCapacity('vm')?.totalBytes ?? 0) > 0, 'the volume is checked like any other');
  }
  assert.deepEqual(cluster.changes.slice(before), [], 'a started, tuned volume is left alone');
});

test('a volume node1 created but did not start: the others wait for it too', async (t) => {
  const cluster = new FakeCluster(HOSTS);
  const { ds } = drivers(cluster);
  t.after(() => Promise.all(ds.map((d) => d.close())));
  const state = clusterState();
  cluster.volumes.set('vm', { state: 'Created', bricks: state.pools[0]!.kind === 'gluster' ? state.pools[0]!.bricks.map((b) => `${b.host}:${b.path}`) : [], replica: 3, options: new Map() });
  const r = await ds[2]!.apply(state, new AbortController().signal);
  assert.deepEqual(r.problems, []);
  assert.equal(ds[2]!.poolWaiting('vm'), 'waiting for node1 to tune and start the volume');
  assert.equal(cluster.changes.length, 0, JSON.stringify(cluster.changes));
});

test('the creator never does it: after the grace time one waiting appliance takes over', async (t) => {
  const cluster = new FakeCluster(HOSTS);
  const { ds } = drivers(cluster, { creatorGraceMs: 150 });
  t.after(() => Promise.all(ds.map((d) => d.close())));
  const state = clusterState();
  const signal = new AbortController().signal;
  assert.deepEqual((await ds[1]!.apply(state, signal)).problems, []);
  assert.equal(cluster.changes.length, 0, JSON.stringify(cluster.changes));
  await new Promise((r) => setTimeout(r, 200));
  const r = await ds[1]!.apply(state, signal);
  assert.deepEqual(r.problems, []);
  assert.equal(ds[1]!.poolWaiting('vm'), null);
  assert.equal(cluster.volumes.get('vm')?.state, 'Started');
  assert.ok(cluster.changes.every((c) => c.startsWith('node2: ')), JSON.stringify(cluster.changes));
});

test('one appliance: it creates at once, also when its bricks name another host than its own', async (t) => {
  // A single appliance whose bricks are spelled by address: no peer has that name.
  const cluster = new FakeCluster(['cairn']);
  const alone = new GlusterPoolDriver({ cli: new FakeCli(cluster, 'cairn'), host: 'cairn' });
  t.after(() => alone.close());
  const state = stateWith([['10.0.0.5', '/nonexistent/cairn-test/b1'], ['10.0.0.5', '/nonexistent/cairn-test/b2'], ['10.0.0.5', '/nonexistent/cairn-test/b3']]);
  const r = await alone.apply(state, new AbortController().signal);
  assert.deepEqual(r.problems, []);
  assert.equal(cluster.volumes.get('vm')?.state, 'Started');
  assert.match(cluster.changes[0]!, /^cairn: volume create vm replica 3 .* force$/);
  // No `host` option at all (as before the cluster): it creates too.
  const cluster2 = new FakeCluster(HOSTS);
  const anon = new GlusterPoolDriver({ cli: new FakeCli(cluster2, 'node3') });
  t.after(() => anon.close());
  assert.deepEqual((await anon.apply(clusterState(), new AbortController().signal)).problems, []);
  assert.equal(cluster2.volumes.get('vm')?.state, 'Started');
});

/**
 * SMB benchmark: smbclient put/get of one large file and of many small files
 * against a Cairn share, through SambaService (the same driver cairnd uses).
 * Prints numbers; asserts nothing.
 *
 *   npm run bench:smb -- [--target SPEC]... [--lab] [--size-mib N] [--files N] [--runs N] [--keep-logs]
 *
 * SPEC (repeatable; the first is the baseline for ratios):
 *   local                      a fresh temp directory (default)
 *   local:/path                a directory, e.g. a Gluster FUSE mount
 *   gluster:VOLUME@HOST[/sub]  the volume through vfs_glusterfs (libgfapi)
 *
 * For the comparison run the same volume both ways:
 *   npm run bench:smb -- --target gluster:gv0@node1 --target local:/mnt/gv0
 * or let the benchmark build it: `--lab` starts a private glusterd (the test
 * lab: own network and mount namespaces), makes a replica-3 volume on three
 * loop-file XFS bricks, FUSE-mounts it, and compares vfs_glusterfs with the
 * FUSE path (plus a local directory for scale).
 * Targets alternate order between runs; the median of the runs is printed
 * (FACTS: absolute figures swing 2–4× on this machine).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { SambaService } from '../../src/smb/samba.js';
import type { SmbShareBackend } from '../../src/smb/types.js';
import { freePort, makeClient, type Client } from './client.js';
import { desired, share, user } from './fixtures.js';

interface Target {
  spec: string;
  backend: SmbShareBackend;
  /** A temp directory to remove afterwards. */
  scratch?: string;
}

interface Sample {
  putMBs: number;
  getMBs: number;
  smallPutFps: number;
  smallGetFps: number;
}

function parseArgs(argv: string[]) {
  const targets: string[] = [];
  let sizeMiB = 512;
  let files = 2000;
  let runs = 3;
  let lab = false;
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--target') targets.push(v());
    else if (a === '--size-mib') sizeMiB = Number(v());
    else if (a === '--files') files = Number(v());
    else if (a === '--runs') runs = Number(v());
    else if (a === '--lab') lab = true;
    else if (a === '--keep-logs') keep = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (targets.length === 0 && !lab) targets.push('local');
  return { targets, sizeMiB, files, runs, lab, keep };
}

async function makeTarget(spec: string, work: string, i: number): Promise<Target> {
  if (spec === 'local') {
    const dir = join(work, `share-${i}`);
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o777);
    return { spec, backend: { kind: 'local', path: dir }, scratch: dir };
  }
  if (spec.startsWith('local:')) return { spec, backend: { kind: 'local', path: spec.slice(6) } };
  const m = /^gluster:([^@]+)@([^/]+)(\/.*)?$/.exec(spec);
  if (m) return { spec, backend: { kind: 'gluster', volume: m[1]!, volfileServers: [m[2]!], path: m[3] ?? '/' } };
  throw new Error(`target "${spec}" is not local, local:/path or gluster:VOLUME@HOST[/path]`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(label: string, fn: () => Promise<{ status: string | null; out: string }>): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status) throw new Error(`${label}: ${r.status}\n${r.out.slice(-2000)}`);
  return secs;
}

function sh(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(file, args, (e) => (e ? reject(e) : resolve())));
}

async function runOnce(client: Client, dirName: string, local: { big: string; small: string; back: string }, sizeMiB: number, files: number): Promise<Sample> {
  const cred = { user: 'bench', password: 'bench-pw' };
  const base = `mkdir ${dirName}; cd ${dirName}`;
  const put = await timed('large put', () => client.run('bench', `${base}; put big.bin big.bin`, { ...cred, cwd: local.big }));
  const get = await timed('large get', () => client.run('bench', `cd ${dirName}; get big.bin /dev/null`, cred));
  const sput = await timed('small put', () =>
    client.run('bench', `cd ${dirName}; mkdir small; cd small; prompt off; mput *`, { ...cred, cwd: local.small, timeoutMs: 600_000 }),
  );
  await rm(local.back, { recursive: true, force: true });
  await mkdir(local.back);
  const sget = await timed('small get', () =>
    client.run('bench', `cd ${dirName}/small; prompt off; mget *`, { ...cred, cwd: local.back, timeoutMs: 600_000 }),
  );
  await client.run('bench', `cd ${dirName}; del big.bin; cd small; del *; cd ..; rmdir small; cd ..; rmdir ${dirName}`, cred);
  return { putMBs: (sizeMiB * 1.048576) / put, getMBs: (sizeMiB * 1.048576) / get, smallPutFps: files / sput, smallGetFps: files / sget };
}

async function main() {
  const { targets: specs, sizeMiB, files, runs, lab, keep } = parseArgs(process.argv.slice(2));
  const work = await mkdtemp(join(tmpdir(), 'cairn-smb-bench-'));
  await chmod(work, 0o755);
  const services: SambaService[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    if (lab) specs.unshift(...(await glusterLab(work, sizeMiB, cleanups)));
    const local = { big: join(work, 'src-big'), small: join(work, 'src-small'), back: join(work, 'back') };
    await mkdir(local.big);
    await mkdir(local.small);
    await sh('dd', ['if=/dev/urandom', `of=${join(local.big, 'big.bin')}`, 'bs=1M', `count=${sizeMiB}`, 'status=none']);
    const payload = Buffer.alloc(4096, 0x5a);
    for (let i = 0; i < files; i++) await writeFile(join(local.small, `f${String(i).padStart(5, '0')}.dat`), payload);

    const targets: Array<{ t: Target; client: Client }> = [];
    for (const [i, spec] of specs.entries()) {
      const t = await makeTarget(spec, work, i);
      const port = await freePort();
      const svc = new SambaService({ dataDir: join(work, `samba-${i}`) });
      services.push(svc);
      await svc.start();
      const r = await svc.apply(desired(port, [share('bench', '/', { backend: t.backend })], [user('bench', 10001, 'bench-pw')]));
      if (r.problems.length > 0) throw new Error(`${spec}: ${JSON.stringify(r.problems)}`);
      targets.push({ t, client: await makeClient(join(work, `client-${i}`), port) });
    }

    const samples = new Map<string, Sample[]>(specs.map((s) => [s, []]));
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? targets : [...targets].reverse();
      for (const { t, client } of order) {
        // Targets may be the same volume (vfs_glusterfs and its FUSE mount): own folders.
        const s = await runOnce(client, `bench-${process.pid}-${run}-${targets.findIndex((x) => x.t === t)}`, local, sizeMiB, files);
        samples.get(t.spec)!.push(s);
        console.log(`run ${run + 1} ${t.spec}: put ${s.putMBs.toFixed(0)} MB/s, get ${s.getMBs.toFixed(0)} MB/s, ${files} small put ${s.smallPutFps.toFixed(0)} files/s, get ${s.smallGetFps.toFixed(0)} files/s`);
      }
    }

    console.log(`\nmedian of ${runs} (large file ${sizeMiB} MiB, ${files} × 4 KiB small files; smbclient over loopback)`);
    console.log('target'.padEnd(34) + 'put MB/s'.padStart(10) + 'get MB/s'.padStart(10) + 'small put/s'.padStart(13) + 'small get/s'.padStart(13));
    const med = specs.map((spec) => {
      const ss = samples.get(spec)!;
      return {
        spec,
        putMBs: median(ss.map((s) => s.putMBs)),
        getMBs: median(ss.map((s) => s.getMBs)),
        smallPutFps: median(ss.map((s) => s.smallPutFps)),
        smallGetFps: median(ss.map((s) => s.smallGetFps)),
      };
    });
    for (const m of med) {
      console.log(m.spec.padEnd(34) + m.putMBs.toFixed(0).padStart(10) + m.getMBs.toFixed(0).padStart(10) + m.smallPutFps.toFixed(0).padStart(13) + m.smallGetFps.toFixed(0).padStart(13));
    }
    const base = med[0]!;
    for (const m of med.slice(1)) {
      console.log(
        `ratio ${base.spec} / ${m.spec}`.padEnd(34) +
          (base.putMBs / m.putMBs).toFixed(2).padStart(10) +
          (base.getMBs / m.getMBs).toFixed(2).padStart(10) +
          (base.smallPutFps / m.smallPutFps).toFixed(2).padStart(13) +
          (base.smallGetFps / m.smallGetFps).toFixed(2).padStart(13),
      );
    }
  } finally {
    for (const s of services) await s.stop().catch(() => undefined);
    for (const c of cleanups.reverse()) await c().catch((e: Error) => console.error(`cleanup: ${e.message}`));
    if (keep) {
      // Keep Samba's logs only: the data files are large.
      for (const d of ['src-big', 'src-small', 'back', 'fuse']) await rm(join(work, d), { recursive: true, force: true });
      console.log(`logs kept in ${work}/samba-*/log`);
    } else {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/**
 * A replica-3 volume in the Gluster test lab, FUSE-mounted here; returns the
 * two targets for the same volume: vfs_glusterfs first, then the FUSE path.
 */
async function glusterLab(work: string, sizeMiB: number, cleanups: Array<() => Promise<unknown>>): Promise<string[]> {
  const { GlusterLab } = await import('../pool/gluster/lab.js');
  // The lab registers its teardown with a test context; collect it instead.
  const ctx = { after: (fn: () => Promise<unknown>) => cleanups.push(fn) } as unknown as TestContext;
  const lab = await GlusterLab.start(ctx);
  const brickBytes = Math.max(2 * 2 ** 30, 2 * sizeMiB * (1 << 20) + (512 << 20));
  const bricks = [];
  for (let i = 1; i <= 3; i++) bricks.push(await lab.addBrick(`smbbench-${i}`, brickBytes));
  await lab.volumes.create({ name: 'smbbench', bricks: bricks.map((b) => b.name), replica: 3, force: true });
  await lab.volumes.set('smbbench', 'performance.write-behind', 'off'); // vfs_glusterfs refuses it
  await lab.volumes.set('smbbench', 'storage.owner-uid', '10001');
  await lab.volumes.set('smbbench', 'storage.owner-gid', '10001');
  await lab.volumes.start('smbbench');
  const mnt = join(work, 'fuse');
  await mkdir(mnt);
  await sh('glusterfs', [`--volfile-server=${lab.host}`, '--volfile-id=smbbench', `--log-file=${join(work, 'fuse.log')}`, mnt]);
  cleanups.push(() => sh('umount', [mnt]));
  return [`gluster:smbbench@${lab.host}`, `local:${mnt}`];
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});

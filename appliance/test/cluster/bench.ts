/**
 * Cluster benchmark on the lab (not part of `npm test`; prints numbers,
 * asserts nothing about speed):
 *
 *   node appliance/dist/test/cluster/bench.js [MIB]      (default 128)
 *
 * Three appliances, replica 3 with the VM profile, `cairnd nfs-serve
 * --backend gfapi` on each. Prints write and read throughput through one
 * appliance, then through all three at once (one libnfs client per
 * appliance, each its own file), then the longest single-write stall a
 * client writing through node1 sees when node2 dies hard (link cut, then
 * its processes killed). On this 2-core machine every appliance shares
 * the same cores and disk: compare figures within one run only (FACTS.md).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Lab } from '../lab/lab.js';
import { buildWriter, clusterServices, nfsServeOn, type NodeNfs } from './helpers.js';

const MIB = Number(process.argv[2] ?? '128');

function write(bin: string, url: string, src: string, onProgress?: (bytes: number) => void): Promise<{ ms: number; stall: number }> {
  return new Promise((resolve, reject) => {
    const w = spawn(bin, [url, src], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    createInterface({ input: w.stdout! }).on('line', (l) => {
      out += `${l}\n`;
      const m = /^progress (\d+)/.exec(l);
      if (m) onProgress?.(Number(m[1]));
    });
    const timer = setTimeout(() => w.kill('SIGKILL'), 600_000);
    w.on('exit', (code) => {
      clearTimeout(timer);
      const d = /total_ms=(\d+) max_stall_ms=(\d+)/.exec(out);
      if (code !== 0 || !d) reject(new Error(`writer failed (${code}): ${out}`));
      else resolve({ ms: Number(d[1]), stall: Number(d[2]) });
    });
  });
}

/** Reads the whole file with nfs-cat, discarding it; returns the time taken. */
function read(nfs: NodeNfs, path: string): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn('nfs-cat', [nfs.url(path)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    p.stdout!.on('data', (d: Buffer) => (bytes += d.length));
    const timer = setTimeout(() => p.kill('SIGKILL'), 600_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0 || bytes !== MIB << 20) reject(new Error(`nfs-cat ${path}: exit ${code}, ${bytes} bytes`));
      else resolve(Date.now() - t0);
    });
  });
}

const mbs = (bytes: number, ms: number) => ((bytes / (1 << 20)) / (ms / 1000)).toFixed(1);

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'cairn-cluster-bench-'));
  const writer = await buildWriter();
  const lab = await Lab.up(3, { brickBytes: Math.max(2 * 2 ** 30, MIB * 6 * (1 << 20)) });
  try {
    const [a, b, c] = clusterServices(lab) as [ReturnType<typeof clusterServices>[0], ReturnType<typeof clusterServices>[0], ReturnType<typeof clusterServices>[0]];
    await a.cluster.addAppliance(b.node.ip, (await b.cluster.issueJoinToken()).token);
    await a.cluster.addAppliance(c.node.ip, (await c.cluster.issueJoinToken()).token);
    await a.volumes.create({ name: 'bench', bricks: lab.nodes.map((n) => n.brick('bench')), replica: 3 });
    await a.volumes.applyVmDatastoreOptions('bench');
    await a.volumes.start('bench');
    const heads = [await nfsServeOn(a.node, 'bench', a.handleSecretFile), await nfsServeOn(b.node, 'bench', b.handleSecretFile), await nfsServeOn(c.node, 'bench', c.handleSecretFile)];
    const src = join(tmp, 'src.bin');
    await writeFile(src, randomBytes(MIB << 20));
    const bytes = MIB << 20;

    const one = await write(writer.bin, heads[0]!.url('/one.bin'), src);
    const oneRead = await read(heads[0]!, '/one.bin');
    console.log(`one appliance:    write ${mbs(bytes, one.ms)} MiB/s, read ${mbs(bytes, oneRead)} MiB/s (${MIB} MiB)`);

    const t0 = Date.now();
    await Promise.all(heads.map((h, i) => write(writer.bin, h.url(`/three-${i}.bin`), src))).catch(async (err: Error) => {
      await new Promise((r) => setTimeout(r, 1000));
      for (const [i, h] of heads.entries()) console.error(`node${i + 1} nfs-serve:\n${h.log()}`);
      throw err;
    });
    const threeW = Date.now() - t0;
    const t1 = Date.now();
    await Promise.all(heads.map((h, i) => read(h, `/three-${i}.bin`)));
    const threeR = Date.now() - t1;
    console.log(`three appliances: write ${mbs(3 * bytes, threeW)} MiB/s, read ${mbs(3 * bytes, threeR)} MiB/s aggregate (3 × ${MIB} MiB)`);

    let failed: Promise<void> | undefined;
    const f = await write(writer.bin, heads[0]!.url('/failover.bin'), src, (n) => {
      if (!failed && n >= bytes / 4) failed = b.node.cutLink().then(() => b.node.killAll());
    });
    await failed;
    console.log(`failover: longest single write stall ${f.stall} ms while node2 died hard (write ${mbs(bytes, f.ms)} MiB/s overall)`);
  } finally {
    await lab.down();
    await writer.cleanup();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

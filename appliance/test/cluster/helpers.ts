/**
 * Cluster test helpers on the lab: a ClusterService per node wired with an
 * in-process JoinTransport (the API is not there yet: A "calls" B by
 * calling B's service), `cairnd nfs-serve --backend gfapi` run inside a
 * node, and the libnfs writer compiled once.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ClusterService, type JoinTransport } from '../../src/cluster/index.js';
import { GlusterPeers } from '../../src/pool/gluster/peers.js';
import { GlusterVolumes } from '../../src/pool/gluster/volumes.js';
import { CAIRND } from '../helpers/cairnd.js';
import { killAndWait, type Lab, type LabNode } from '../lab/lab.js';

const run = promisify(execFile);
const WRITER_SRC = fileURLToPath(new URL('../../../test/cluster/fixtures/nfs-writer.c', import.meta.url));

export interface NodeServices {
  node: LabNode;
  cluster: ClusterService;
  peers: GlusterPeers;
  volumes: GlusterVolumes;
  handleSecretFile: string;
}

/** One ClusterService per node; addresses resolve to the node's service. */
export function clusterServices(lab: Lab): NodeServices[] {
  const byAddress = new Map<string, ClusterService>();
  const transport: JoinTransport = {
    async join(address, req) {
      const svc = byAddress.get(address);
      if (!svc) throw new Error(`connect ECONNREFUSED ${address}`);
      // Through JSON, as over HTTP.
      return svc.acceptJoin(JSON.parse(JSON.stringify(req)));
    },
  };
  return lab.nodes.map((node) => {
    const peers = new GlusterPeers(node.cli);
    const volumes = new GlusterVolumes(node.cli);
    const handleSecretFile = join(node.state.dir, 'cairn', 'nfs-fh.secret');
    const cluster = new ClusterService({ hostname: node.name, peers, volumes, transport, stateDir: join(node.state.dir, 'cairn'), handleSecretFile });
    byAddress.set(node.ip, cluster);
    return { node, cluster, peers, volumes, handleSecretFile };
  });
}

export interface NodeNfs {
  pid: number;
  port: number;
  host: string;
  url: (path: string) => string;
  stop: () => Promise<void>;
  /** The last lines nfs-serve printed (stdout JSON logs and stderr). */
  log: () => string;
  /** Every warn/error line it logged (connections it closed or lost with calls in flight, unmapped errors), up to 200. */
  warnings: () => string[];
}

/** Runs `cairnd nfs-serve --backend gfapi` inside `node`, serving `volume`. */
export async function nfsServeOn(node: LabNode, volume: string, secretFile: string): Promise<NodeNfs> {
  const proc = node.spawn([
    process.execPath, CAIRND, 'nfs-serve', '--backend', 'gfapi', '--volume', volume, '--volfile-server', node.name,
    '--port', '0', '--host', node.ip, '--fh-secret', secretFile,
  ]);
  let err = '';
  const lines: string[] = [];
  const warns: string[] = [];
  const keep = (l: string) => {
    lines.push(l);
    if (lines.length > 40) lines.shift();
    if (/"level":(40|50|60)/.test(l) && warns.length < 200) warns.push(l);
  };
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const l of d.toString().split('\n')) if (l) keep(l);
  });
  const exited = once(proc, 'exit');
  proc.on('exit', (code, signal) => keep(`nfs-serve exited: code ${code} signal ${signal}`));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nfs-serve on ${node.name} did not listen: ${err}`)), 30_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      keep(line);
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        if (rec.msg === 'nfs listening') {
          clearTimeout(timer);
          resolve(rec.port!);
        }
      } catch {
        /* not JSON */
      }
    });
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`nfs-serve on ${node.name} exited with ${code}: ${err}`));
    });
  });
  return {
    pid: proc.pid!,
    port,
    host: node.ip,
    url: (path) => `nfs://${node.ip}/export${path}?version=3&nfsport=${port}&mountport=${port}`,
    // SIGKILL: a clean exit would wait ~10 s in glfs_fini (FACTS.md).
    stop: () => killAndWait([proc.pid!]),
    log: () => lines.join('\n'),
    warnings: () => [...warns],
  };
}

/** Compiles the libnfs writer into a temp dir; returns its path and a cleanup. */
export async function buildWriter(): Promise<{ bin: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-nfs-writer-'));
  const bin = join(dir, 'nfs-writer');
  await run('gcc', ['-O1', '-Wall', '-o', bin, WRITER_SRC, '-lnfs'], { timeout: 60_000 });
  return { bin, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Calls `fn` every `pollMs` until it returns something truthy, which is
 * returned; errors count as "not yet" and the last one is reported with
 * `logs()` when `timeoutMs` runs out.
 */
export async function pollUntil<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, logs: () => string = () => '', pollMs = 1000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}\n${logs()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

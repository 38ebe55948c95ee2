/**
 * Gluster's trusted storage pool: peer probe, detach, status — the
 * cluster's membership. Cairn keeps no membership of its own (DESIGN.md):
 * the pool is the truth, cairn/cluster builds its join flow on top.
 *
 * Rules worth knowing (glusterd 10.3):
 *  - Only a member of the pool may probe a newcomer; glusterd itself does
 *    no authentication, so the join token is checked by cairnd *before*
 *    anyone probes (see cluster/).
 *  - `peer status` lists the other members only; `pool list` adds this
 *    node as hostname "localhost".
 *  - A probed peer passes through states (stateStr) such as "Accepted peer
 *    request", "Sent and Received peer request" to "Peer in Cluster";
 *    `connected` 1/0 is whether glusterd reaches it now.
 *  - `peer detach` refuses while the peer holds bricks of any volume.
 */
import type { GlusterCli } from './cli.js';
import { GlusterError } from './errors.js';
import type { CliOutput } from './xml.js';

export interface Peer {
  uuid: string;
  /** The name it was probed by (first of `hostnames`). */
  hostname: string;
  /** Every name/address glusterd knows it by. */
  hostnames: string[];
  connected: boolean;
  /** "Peer in Cluster" once fully joined. */
  state: string;
  /** True for this node (only in `pool list`). */
  self: boolean;
}

/** A hostname or IPv4/IPv6 address; nothing that could be an option. */
const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^[0-9a-fA-F:]+$/;

export function checkHost(host: string): void {
  if (!HOST_RE.test(host)) throw new GlusterError('INVALID_ARGUMENT', `not a host name or address: ${JSON.stringify(host)}`);
}

type Node = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? String((v as Node)['#text'] ?? '') : String(v));

/** Pure: `peer status` / `pool list` XML to peers. */
export function parsePeers(out: CliOutput): Peer[] {
  const ps = out['peerStatus'];
  if (!ps || typeof ps !== 'object') return [];
  const raw = (ps as Node)['peer'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return list.map((p: Node) => {
    const names = (p['hostnames'] as Node | undefined)?.['hostname'];
    const hostnames = (Array.isArray(names) ? names : names !== undefined ? [names] : []).map(str).filter(Boolean);
    const hostname = str(p['hostname']) || hostnames[0] || '';
    return {
      uuid: str(p['uuid']),
      hostname,
      hostnames: hostnames.length ? hostnames : [hostname],
      connected: str(p['connected']) === '1',
      state: str(p['stateStr']),
      self: hostname === 'localhost',
    };
  });
}

export class GlusterPeers {
  constructor(private readonly cli: GlusterCli) {}

  /** Adds `host` to the pool (run on a member). Idempotent: probing a member succeeds. */
  async probe(host: string): Promise<void> {
    checkHost(host);
    await this.cli.run(['peer', 'probe', host]);
  }

  /** Removes `host` from the pool; glusterd refuses while it holds bricks. */
  async detach(host: string, opts: { force?: boolean } = {}): Promise<void> {
    checkHost(host);
    await this.cli.run(['peer', 'detach', host, ...(opts.force ? ['force'] : [])]);
  }

  /** The other members, as this node sees them. */
  async status(): Promise<Peer[]> {
    return parsePeers(await this.cli.run(['peer', 'status']));
  }

  /** Every member, this node included (self: true). */
  async list(): Promise<Peer[]> {
    return parsePeers(await this.cli.run(['pool', 'list']));
  }

  /**
   * Waits until every name in `hosts` is a connected "Peer in Cluster"
   * as seen from this node; throws GLUSTER_TIMEOUT with the last states.
   */
  async waitConnected(hosts: string[], timeoutMs = 30_000): Promise<Peer[]> {
    const deadline = Date.now() + timeoutMs;
    let peers: Peer[] = [];
    for (;;) {
      peers = await this.status();
      const ok = hosts.every((h) => peers.some((p) => p.hostnames.includes(h) && p.connected && p.state === 'Peer in Cluster'));
      if (ok) return peers;
      if (Date.now() > deadline) {
        const seen = peers.map((p) => `${p.hostname}: ${p.state}${p.connected ? '' : ' (disconnected)'}`).join('; ');
        throw new GlusterError('GLUSTER_TIMEOUT', `peers ${hosts.join(', ')} not in cluster after ${timeoutMs} ms (${seen || 'no peers'})`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

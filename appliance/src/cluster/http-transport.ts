/**
 * The product's JoinTransport: A's cairnd calls B's cairnd over HTTP,
 * `POST <B>/api/v1/cluster/join` with the JoinRequest as JSON. The join
 * token inside is the only credential (B's route is public to the cluster
 * and checks the token itself, see api/routes/cluster.ts).
 *
 * Addresses: `host`, `host:port`, `[v6]:port`, or a full `http(s)://…`
 * base URL. Without a scheme, http and cairnd's default port 8080.
 *
 * B's refusals come back as the catalog's codes and become ClusterErrors
 * again, so A's API answers with the same code B gave (a wrong token on B
 * is `join_token_invalid` on A too). A connection failure or timeout is
 * JOIN_UNREACHABLE.
 */
import type { JoinReply, JoinRequest, JoinTransport } from './cluster.js';
import { ClusterError, type ClusterErrorCode } from './errors.js';

export interface HttpJoinTransportOptions {
  /** Per request, default 15 s. */
  timeoutMs?: number;
  /** Port when the address has none, default 8080. */
  defaultPort?: number;
}

const FROM_CATALOG: Record<string, ClusterErrorCode> = {
  join_token_invalid: 'JOIN_TOKEN_INVALID',
  join_token_expired: 'JOIN_TOKEN_EXPIRED',
  already_in_cluster: 'ALREADY_IN_CLUSTER',
  validation_failed: 'INVALID_ARGUMENT',
  bad_request: 'INVALID_ARGUMENT',
};

/** Pure: the base URL of the cairnd at `address`. */
export function baseUrlOf(address: string, defaultPort = 8080): string {
  const a = address.trim();
  if (/^https?:\/\//i.test(a)) {
    let u: URL;
    try {
      u = new URL(a);
    } catch {
      throw new ClusterError('INVALID_ARGUMENT', `not a URL: ${JSON.stringify(address)}`);
    }
    return `${u.protocol}//${u.host}`;
  }
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(a);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
    throw new ClusterError('INVALID_ARGUMENT', `not a host, host:port or URL: ${JSON.stringify(address)}`);
  }
  return `http://${m[1]}:${m[2] ?? defaultPort}`;
}

export class HttpJoinTransport implements JoinTransport {
  constructor(private readonly opts: HttpJoinTransportOptions = {}) {}

  async join(address: string, req: JoinRequest): Promise<JoinReply> {
    const base = baseUrlOf(address, this.opts.defaultPort);
    let res: Response;
    try {
      res = await fetch(`${base}/api/v1/cluster/join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(req),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000),
        redirect: 'error',
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new ClusterError('JOIN_UNREACHABLE', `cairnd at ${base} did not answer (${cause})`);
    }
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch {
      throw new ClusterError('JOIN_UNREACHABLE', `${base} answered HTTP ${res.status} without JSON: is it a cairnd?`);
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string } }).error;
      const code = FROM_CATALOG[err?.code ?? ''] ?? 'JOIN_FAILED';
      throw new ClusterError(code, `${base}: ${err?.message ?? `HTTP ${res.status}`}`);
    }
    const reply = parsed as Partial<JoinReply>;
    if (typeof reply.hostname !== 'string' || reply.hostname === '' || reply.clusterId !== req.clusterId) {
      throw new ClusterError('JOIN_FAILED', `${base} gave an unexpected join reply`);
    }
    return { hostname: reply.hostname, clusterId: reply.clusterId, ...(typeof reply.stateBrick === 'string' && reply.stateBrick.startsWith('/') ? { stateBrick: reply.stateBrick } : {}) };
  }
}

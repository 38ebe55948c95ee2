/**
 * /api/v1/cluster — several appliances as one cluster (cluster/cluster.ts
 * has the design). Adding appliance B from appliance A:
 *
 *   on B: POST /cluster/join-token        (admin) → a token shown on B
 *   on A: POST /cluster/members {address, token}  (admin) → A's cairnd calls
 *   on B: POST /cluster/join {token, clusterId, inviter, handleSecret}
 *         → B checks the token, keeps the cluster's id and NFS handle
 *           secret, answers with its host name; then A peer-probes B.
 *
 * POST /cluster/join is the one route here without a session or API token:
 * the join token (random, single use, 15 min, known only to whoever read
 * it on B's console) is its credential, checked by JoinTokens.consume
 * before anything is written; failed attempts count per address like
 * failed logins (429 rate_limited past the limit). The route-table test
 * lists it as public.
 *
 * Errors: the catalog's cluster codes (join_token_invalid, holds_bricks, …);
 * glusterd not running is glusterd_unavailable (503) at once, since the
 * CLI fails fast when its socket is missing.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ApiContext, ClusterApi } from '../context.js';
import { whoOf } from '../context.js';
import { ApiError } from '../errors.js';
import { Empty } from '../schemas.js';
import { ClusterError } from '../../cluster/errors.js';
import type { Move } from '../../cluster/evacuate.js';
import { splitBrick } from '../../pool/gluster/xml.js';
import { TaskSchema } from './system.js';
import { change } from '../context.js';
import { clusterSmbOf, clusterSmbRuntimeOf, nodeTableAppend, nodeTableWith, nodeTableWithout } from '../../cluster/smb-cluster.js';
import { ClusterSmbSchema, DEFAULT_CLUSTER_SETTINGS } from '../../state/schema.js';
import { clusterSmbErrors, type FieldError } from '../../state/validate.js';

const MemberSchema = Type.Object(
  {
    hostname: Type.String(),
    uuid: Type.String(),
    self: Type.Boolean({ description: 'this appliance' }),
    connected: Type.Boolean(),
    state: Type.String({ description: 'glusterd peer state; "Peer in Cluster" when joined' }),
    bricks: Type.Array(Type.String(), { description: 'bricks of any volume on this appliance (host:/path)' }),
    health: Type.Union([Type.Literal('ok'), Type.Literal('unreachable'), Type.Literal('joining')]),
  },
  { title: 'ClusterMember' },
);

const SharedStateSchema = Type.Object(
  {
    volume: Type.String(),
    phase: Type.Union([Type.Literal('standalone'), Type.Literal('waiting'), Type.Literal('synced'), Type.Literal('error')]),
    mounted: Type.Boolean(),
    revision: Type.Union([Type.Integer(), Type.Null()], { description: "the cluster document's revision applied here" }),
    origin: Type.Union([Type.String(), Type.Null()], { description: 'the appliance that wrote it' }),
    at: Type.Union([Type.String(), Type.Null()]),
    lastCheckAt: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    writable: Type.Union([Type.Boolean(), Type.Null()], { description: 'false after Gluster refused a write here (minority side), until a lock probe succeeds again' }),
  },
  { title: 'ClusterSharedState' },
);

const ClusterView = Type.Object(
  {
    hostname: Type.String({ description: 'this appliance' }),
    clusterId: Type.Union([Type.String(), Type.Null()], { description: 'null until the appliance adds or joins another' }),
    joinedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    members: Type.Array(MemberSchema),
    quorum: Type.Boolean({ description: 'this appliance reaches more than half of the members (glusterd view) and its last write to the shared state was not refused; without it, changes to cluster-wide objects are refused here' }),
    sharedState: Type.Union([SharedStateSchema, Type.Null()], { description: 'the shared desired state on the cairn-state volume; null when this cairnd runs no sync' }),
  },
  { title: 'Cluster' },
);

const JoinTokenView = Type.Object(
  {
    token: Type.String({ description: 'type it into the console (or cairnctl cluster add) of an appliance already in the cluster' }),
    expiresAt: Type.String({ format: 'date-time' }),
    fingerprint: Type.Optional(Type.String({ description: "the pin of this appliance's TLS certificate, also the part of `token` after the dot: the adding appliance checks it before sending anything" })),
    clusterPort: Type.Optional(Type.Integer({ description: "this appliance's HTTPS port for cairnd-to-cairnd calls (give host:clusterPort as the address when it is not 8443)" })),
  },
  { title: 'JoinToken' },
);

const AddMemberBody = Type.Object(
  {
    address: Type.String({ minLength: 1, maxLength: 300, description: "host, host:port or URL of the new appliance's cairnd" }),
    token: Type.String({ minLength: 1, maxLength: 200, description: 'the join token shown on the new appliance' }),
  },
  { additionalProperties: false, title: 'AddMember' },
);

const JoinBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 200 }),
    clusterId: Type.String({ pattern: '^[0-9a-f-]{36}$' }),
    inviter: Type.String({ minLength: 1, maxLength: 253 }),
    handleSecret: Type.String({ minLength: 24, maxLength: 512, pattern: '^[A-Za-z0-9+/]+={0,2}$', description: 'cluster-wide NFS file handle secret, base64' }),
  },
  { additionalProperties: false, title: 'JoinRequest' },
);

const JoinReplyView = Type.Object(
  { hostname: Type.String(), clusterId: Type.String(), stateBrick: Type.Optional(Type.String({ description: "this appliance's brick directory for the cairn-state volume" })) },
  { title: 'JoinReply' },
);

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const ClusterSmbRuntimeView = Type.Object(
  {
    ctdb: Type.Union([Type.Literal('running'), Type.Literal('stopped'), Type.Literal('unknown')], { description: 'ctdbd on this appliance' }),
    error: Nullable(Type.String({ description: 'why the node map is missing although ctdbd runs' })),
    leader: Nullable(Type.Integer({ description: "PNN of CTDB's leader" })),
    nodes: Type.Array(
      Type.Object({
        pnn: Type.Integer(),
        hostname: Nullable(Type.String()),
        address: Type.String({ description: 'private address CTDB uses' }),
        health: Type.String({ description: 'ok, or the first CTDB flag set: disconnected, unknown, banned, stopped, disabled, unhealthy, inactive' }),
        thisNode: Type.Boolean(),
      }),
    ),
    publicAddresses: Type.Array(
      Type.Object({
        address: Type.String(),
        prefix: Type.Integer(),
        pnn: Nullable(Type.Integer({ description: 'PNN hosting it; null: nobody, or CTDB not running here' })),
        hostname: Nullable(Type.String({ description: 'the appliance hosting it' })),
        interface: Nullable(Type.String()),
      }),
    ),
    lock: Type.Object({
      volume: Nullable(Type.String({ description: 'the lock volume (the shared state volume)' })),
      mounted: Nullable(Type.Boolean()),
      file: Nullable(Type.String({ description: "CTDB's cluster lock file on it, while clustered" })),
    }),
  },
  { title: 'ClusterSmbRuntime' },
);

const ClusterSmbView = Type.Object(
  { ...ClusterSmbSchema.properties, runtime: Type.Optional(ClusterSmbRuntimeView) },
  { title: 'ClusterSmb' },
);

const ClusterSmbBody = Type.Object(
  {
    enabled: ClusterSmbSchema.properties.enabled,
    netbiosName: ClusterSmbSchema.properties.netbiosName,
    publicAddresses: ClusterSmbSchema.properties.publicAddresses,
  },
  { additionalProperties: false, title: 'ClusterSmbChange' },
);

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) });

function need(ctx: ApiContext): ClusterApi {
  if (!ctx.cluster) throw new ApiError('cluster_unavailable');
  return ctx.cluster;
}

export function clusterRoutes(ctx: ApiContext): FastifyPluginAsync {
  /** Appliances whose removal task runs. */
  const removing = new Set<string>();
  return async (app) => {
    const tags = ['cluster'];

    app.get(
      '/cluster',
      { config: { access: 'read' }, schema: { summary: 'This cluster: its appliances with health and bricks', tags, response: { 200: ClusterView } } },
      async () => {
        const c = need(ctx);
        const [rec, members] = await Promise.all([c.record(), c.members()]);
        const reached = members.filter((m) => m.self || m.connected).length;
        const shared = c.sharedState?.() ?? null;
        return {
          hostname: c.hostname,
          clusterId: rec?.clusterId ?? null,
          joinedAt: rec?.joinedAt ?? null,
          members,
          // glusterd notices a cut link only after ~10 s; a refused write says so at once.
          quorum: reached * 2 > members.length && shared?.writable !== false,
          sharedState: shared,
        };
      },
    );

    app.get(
      '/cluster/smb',
      {
        config: { access: 'read' },
        schema: {
          summary: 'Clustered SMB (CTDB): on or off, NetBIOS name, public addresses, PNN table; `runtime`: CTDB node health, who hosts each public address, the lock volume',
          tags,
          response: { 200: ClusterSmbView },
        },
      },
      async () => {
        const smb = clusterSmbOf(ctx.store.state);
        const rt = ctx.clusterSmbRuntime ? await ctx.clusterSmbRuntime() : null;
        return { ...smb, runtime: clusterSmbRuntimeOf(smb, rt, ctx.cluster?.sharedState?.()) };
      },
    );

    app.put<{ Body: Static<typeof ClusterSmbBody> }>(
      '/cluster/smb',
      {
        config: { access: 'admin' },
        schema: {
          summary: 'Set clustered SMB for every appliance of the cluster',
          description:
            'Cluster-wide: every appliance runs CTDB and clustered Samba with this NetBIOS name and these public addresses once the cluster has two appliances. ' +
            "The PNN table (`nodes`) is kept by cairnd: saving keeps every member's PNN, sets departed members' slots to null and gives members without one the next PNN.",
          tags,
          body: ClusterSmbBody,
          response: { 200: ClusterSmbView },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const fields: FieldError[] = [];
        clusterSmbErrors(b, '', fields);
        if (fields.length) throw new ApiError('validation_failed', 'the clustered SMB settings are not valid', fields);
        const members = await need(ctx).members();
        const rev = await change(ctx, req, b.enabled ? 'enable clustered SMB' : 'disable clustered SMB', b.netbiosName, (s) => {
          const nodes = nodeTableWith(clusterSmbOf(s).nodes, members);
          s.cluster = { ...(s.cluster ?? structuredClone(DEFAULT_CLUSTER_SETTINGS)), smb: { enabled: b.enabled, netbiosName: b.netbiosName, publicAddresses: b.publicAddresses, nodes } };
        });
        return reply.header('cairn-revision', rev.revision).send(clusterSmbOf(rev.state));
      },
    );

    app.post(
      '/cluster/join-token',
      {
        config: { access: 'admin' },
        schema: { summary: 'Show a join token on this appliance, to add it from an appliance already in a cluster', tags, response: { 201: JoinTokenView } },
      },
      async (req, reply) => {
        const t = await need(ctx).issueJoinToken();
        ctx.audit.record({ who: whoOf(req), action: 'issue join token', target: '', ip: req.ip });
        return reply.code(201).send({
          token: t.token,
          expiresAt: new Date(t.expiresAt).toISOString(),
          ...(t.fingerprint ? { fingerprint: t.fingerprint } : {}),
          ...(t.clusterPort ? { clusterPort: t.clusterPort } : {}),
        });
      },
    );

    app.post<{ Body: Static<typeof AddMemberBody> }>(
      '/cluster/members',
      {
        config: { access: 'admin' },
        schema: { summary: 'Add the appliance at `address` that shows `token` (its cairnd is called, then Gluster probes it)', tags, body: AddMemberBody, response: { 201: MemberSchema } },
      },
      async (req, reply) => {
        const c = need(ctx);
        const m = await c.addAppliance(req.body.address, req.body.token);
        ctx.audit.record({ who: whoOf(req), action: 'add appliance', target: `${m.hostname} (${req.body.address})`, ip: req.ip });
        // After the shared document is read here: a change made before (right
        // after the 2nd appliance created the state volume) would be replaced
        // by the document the volume's first brick seeds.
        await waitSynced(c, 20_000);
        await smbTableChange(ctx, whoOf(req), `clustered SMB: PNN for ${m.hostname}`, (t) => nodeTableAppend(t, [c.hostname, m.hostname]));
        return reply.code(201).send(m);
      },
    );

    app.post<{ Body: Static<typeof JoinBody> }>(
      '/cluster/join',
      {
        // The join token in the body is the credential (see the header).
        config: { access: 'public' },
        schema: {
          summary: "Called by a cluster member's cairnd: join its cluster with the token shown here",
          tags,
          security: [],
          body: JoinBody,
          response: { 200: JoinReplyView },
        },
      },
      async (req) => {
        const c = need(ctx);
        // Guessing a 100-bit token is hopeless; still, a caller that keeps
        // failing is refused for a while, as logins are.
        const key = `join-ip:${req.ip}`;
        const wait = ctx.loginLimiter.retryAfterMs(key);
        if (wait > 0) {
          const secs = String(Math.ceil(wait / 1000));
          throw new ApiError('rate_limited', `too many failed join attempts: retry in ${secs} s`, [], { 'retry-after': secs });
        }
        let r;
        try {
          r = await c.acceptJoin(req.body);
        } catch (err) {
          if (err instanceof ClusterError && (err.code === 'JOIN_TOKEN_INVALID' || err.code === 'JOIN_TOKEN_EXPIRED')) ctx.loginLimiter.fail(key);
          throw err;
        }
        ctx.audit.record({ who: `cluster:${req.body.inviter}`, action: 'join cluster', target: r.clusterId, ip: req.ip });
        // The NFS driver notices the cluster's handle secret on its next pass.
        void ctx.reconciler?.trigger();
        return r;
      },
    );

    app.delete<{ Params: Static<typeof NameParams> }>(
      '/cluster/members/:name',
      {
        config: { access: 'admin' },
        schema: {
          summary: 'Remove an appliance from the cluster, moving its bricks first',
          description:
            'Without bricks the appliance is detached at once (204). With bricks, each is moved onto another appliance (replace-brick, then heal; or remove-brick of a whole replica set) ' +
            'in a task (202, follow it at /tasks/:id), which detaches the appliance at the end. Refused (409 holds_bricks) when a brick has nowhere to go without losing a copy.',
          tags,
          params: NameParams,
          response: { 202: TaskSchema, 204: Empty },
        },
      },
      async (req, reply) => {
        const c = need(ctx);
        const name = req.params.name;
        const who = whoOf(req);
        if (c.planRemoval && c.evacuate) {
          if (removing.has(name)) throw new ApiError('in_use', `${name} is already being removed: follow its task`);
          const plan = await c.planRemoval(name);
          if (plan.moves.length) {
            removing.add(name);
            const evacuate = c.evacuate.bind(c);
            const task = ctx.tasks.start('remove-appliance', `remove appliance ${name}`, who, async (t) => {
              try {
                const out = await evacuate(name, plan.moves, t, (m) => recordMove(ctx, who, m));
                await smbTableChange(ctx, who, `clustered SMB: ${name} left`, (tb) => nodeTableWithout(tb, name));
                return out;
              } finally {
                removing.delete(name);
              }
            });
            ctx.audit.record({ who, action: 'remove appliance (moving its bricks)', target: name, ip: req.ip });
            return reply.code(202).send(task);
          }
        }
        await c.removeAppliance(name);
        ctx.audit.record({ who, action: 'remove appliance', target: name, ip: req.ip });
        await smbTableChange(ctx, who, `clustered SMB: ${name} left`, (t) => nodeTableWithout(t, name));
        return reply.code(204).send();
      },
    );
  };
}

/** Waits (bounded) until this appliance has applied the cluster's shared document; no wait without a sync. */
async function waitSynced(c: ClusterApi, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const st = c.sharedState?.();
    if (!st || st.phase === 'synced' || Date.now() > end) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Keeps the clustered-SMB PNN table (cluster/smb-cluster.ts) as members
 * come and go. Best effort: the membership change has happened; when the
 * state cannot be written now (no quorum, the state volume not mounted
 * yet), the derivation still leaves a departed member out, and saving the
 * clustered SMB settings again gives a newcomer its slot.
 */
async function smbTableChange(ctx: ApiContext, who: string, message: string, next: (t: (string | null)[]) => (string | null)[]): Promise<void> {
  const cur = clusterSmbOf(ctx.store.state).nodes;
  if (JSON.stringify(next(cur)) === JSON.stringify(cur)) return;
  try {
    await ctx.store.update(who, message, (s) => {
      const smb = clusterSmbOf(s);
      s.cluster = { ...(s.cluster ?? structuredClone(DEFAULT_CLUSTER_SETTINGS)), smb: { ...smb, nodes: next(smb.nodes) } };
    });
  } catch (err) {
    ctx.log.warn({ err }, `${message}: not recorded in the cluster state`);
  }
}

/** A brick move in Gluster becomes the same change of the pool's brick list in the state (volume name = pool id). */
async function recordMove(ctx: ApiContext, who: string, m: Move): Promise<void> {
  const ref = (b: string) => splitBrick(b);
  await ctx.store.update(who, `move brick of ${m.volume} (${m.kind})`, (s) => {
    const pool = s.pools.find((p) => p.kind === 'gluster' && p.id === m.volume);
    if (!pool || pool.kind !== 'gluster') return;
    if (m.kind === 'replace') {
      const from = ref(m.from);
      const to = ref(m.to);
      pool.bricks = pool.bricks.map((b) => (b.host === from.host && b.path === from.path ? { host: to.host, path: to.path } : b));
    } else {
      const gone = new Set(m.bricks);
      pool.bricks = pool.bricks.filter((b) => !gone.has(`${b.host}:${b.path}`));
      if (m.kind === 'reduce') pool.replica = m.replica;
    }
  });
}

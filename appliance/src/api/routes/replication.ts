/**
 * /api/v1/replication — asynchronous replication of a local Gluster volume
 * to a volume on a remote appliance (Gluster geo-replication; the design and
 * the failover/failback steps are in docs/geo-replication.md).
 *
 *   GET    /replication/sessions                      every session: state, lag,
 *                                                     last synced, per-brick workers
 *   POST   /replication/sessions {volume, remoteHost, remoteVolume, sshPort?}
 *                                                     create (push-pem) and start
 *   POST   /replication/sessions/:volume/:remoteHost/:remoteVolume/pause
 *   POST   …/resume
 *   POST   …/checkpoint                               status then says when every
 *                                                     change up to now has synced
 *   POST   …/restart                                  stop (force) and start again
 *   DELETE …                                          stop (force) and delete
 *
 *   GET    /replication/ssh-key                       this appliance's root public key
 *                                                     (made on first use)
 *   POST   /replication/authorized-keys {key}         on the remote appliance: let
 *                                                     that key log in as root
 *
 * Before POST /replication/sessions, root of this appliance must reach root
 * of the remote one by ssh key (push-pem needs it once): show the key here,
 * paste it into the remote's console (authorized-keys). A session is named
 * by its three parts in the path; names are checked by georep.ts before any
 * command runs (bad_request).
 *
 * Errors: glusterd refusing a geo-replication command (remote unreachable
 * over ssh, no such remote volume, session exists…) is replication_failed
 * (502) with glusterd's own words; an unknown session is not_found.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiContext, ReplicationApi } from '../context.js';
import { whoOf } from '../context.js';
import { ApiError } from '../errors.js';
import { Empty } from '../schemas.js';
import { GlusterError } from '../../pool/gluster/errors.js';
import type { GeoRepTarget } from '../../pool/gluster/georep.js';
import { SshKeyError } from '../../replication/ssh-keys.js';

const NAME = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
const HOST = '^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$';

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const WorkerSchema = Type.Object(
  {
    node: Type.String({ description: 'primary appliance running this worker' }),
    brick: Type.String(),
    status: Type.String({ description: 'gsyncd: Active (syncs), Passive (its replica peer syncs), Faulty, Paused, Stopped, Offline, Initializing..., Created' }),
    crawlStatus: Type.Union([Type.String(), Type.Null()]),
    lastSynced: Time,
    pending: Type.Integer({ description: 'entry + data + metadata operations of the batch in flight' }),
    failures: Type.Integer(),
  },
  { title: 'ReplicationWorker' },
);

const SessionSchema = Type.Object(
  {
    volume: Type.String({ description: 'local (primary) volume' }),
    remoteHost: Type.String(),
    remoteVolume: Type.String(),
    state: Type.Union(['active', 'faulty', 'paused', 'stopped', 'initializing', 'created', 'offline'].map((s) => Type.Literal(s))),
    lastSynced: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'time of the last change synced by the oldest active worker' }),
    lagSeconds: Type.Union([Type.Integer(), Type.Null()], { description: 'now - lastSynced; null before the first sync' }),
    upToDate: Type.Boolean({ description: 'active, nothing pending, no failures: on an idle volume the lag grows although nothing waits' }),
    pending: Type.Integer(),
    failures: Type.Integer(),
    checkpoint: Type.Union([Type.Object({ time: Type.String({ format: 'date-time' }), completed: Type.Boolean() }), Type.Null()]),
    workers: Type.Array(WorkerSchema),
  },
  { title: 'ReplicationSession' },
);

const SessionList = Type.Object({ sessions: Type.Array(SessionSchema), checkedAt: Type.String({ format: 'date-time' }) }, { title: 'ReplicationSessions' });

const CreateBody = Type.Object(
  {
    volume: Type.String({ pattern: NAME, description: 'local Gluster volume (a pool of this appliance)' }),
    remoteHost: Type.String({ pattern: HOST, description: "remote appliance's host name or address, as its glusterd knows itself" }),
    remoteVolume: Type.String({ pattern: NAME, description: 'volume on the remote appliance (created and started there, empty)' }),
    sshPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "remote sshd's port, default 22" })),
  },
  { additionalProperties: false, title: 'CreateReplication' },
);

const SessionParams = Type.Object({
  volume: Type.String({ pattern: NAME }),
  remoteHost: Type.String({ pattern: HOST }),
  remoteVolume: Type.String({ pattern: NAME }),
});
type Params = Static<typeof SessionParams>;

const SshKeyView = Type.Object({ key: Type.String({ description: 'one line for authorized_keys' }) }, { title: 'SshPublicKey' });
const AuthorizeBody = Type.Object({ key: Type.String({ minLength: 1, maxLength: 16384, description: "the primary appliance's key, as GET /replication/ssh-key shows it there" }) }, { additionalProperties: false, title: 'AuthorizeSshKey' });
const AuthorizeView = Type.Object({ added: Type.Boolean({ description: 'false: it was authorized already' }) }, { title: 'AuthorizedSshKey' });

function need(ctx: ApiContext): ReplicationApi {
  if (!ctx.replication) throw new ApiError('replication_unavailable');
  return ctx.replication;
}

const targetOf = (p: { volume: string; remoteHost: string; remoteVolume: string }): GeoRepTarget => ({ primary: p.volume, secondaryHost: p.remoteHost, secondaryVolume: p.remoteVolume });
const nameOf = (p: Params) => `${p.volume} → ${p.remoteHost}::${p.remoteVolume}`;

/** glusterd's refusal of a geo-replication command becomes replication_failed with its words. */
async function gluster<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof GlusterError && (err.code === 'GLUSTER_FAILED' || err.code === 'GLUSTER_BAD_OUTPUT')) throw new ApiError('replication_failed', err.message);
    throw err;
  }
}

export function replicationRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const tags = ['replication'];

    app.get(
      '/replication/sessions',
      { config: { access: 'read' }, schema: { summary: 'Geo-replication sessions of local volumes: state, lag, last synced time, workers', tags, response: { 200: SessionList } } },
      async () => {
        const sessions = await gluster(() => need(ctx).list());
        return { sessions, checkedAt: new Date().toISOString() };
      },
    );

    app.post<{ Body: Static<typeof CreateBody> }>(
      '/replication/sessions',
      {
        config: { access: 'admin' },
        schema: {
          summary: "Replicate a local volume to a remote appliance's volume (create with push-pem, then start)",
          description: 'Root of this appliance must reach root of the remote appliance by ssh key first (docs/geo-replication.md).',
          tags,
          body: CreateBody,
          response: { 201: SessionSchema },
        },
      },
      async (req, reply) => {
        const r = need(ctx);
        const t = targetOf(req.body);
        if (await gluster(() => r.get(t))) throw new ApiError('already_exists', `${req.body.volume} already replicates to ${req.body.remoteHost}::${req.body.remoteVolume}`);
        await gluster(() => r.setUp(t, req.body.sshPort === undefined ? {} : { sshPort: req.body.sshPort }));
        ctx.audit.record({ who: whoOf(req), action: 'create replication', target: `${req.body.volume} → ${req.body.remoteHost}::${req.body.remoteVolume}`, ip: req.ip });
        const s = await gluster(() => r.get(t));
        if (!s) throw new ApiError('replication_failed', 'the session was created but glusterd does not list it');
        return reply.code(201).send(s);
      },
    );

    for (const [verb, summary, run] of [
      ['pause', 'Pause a session (workers stop syncing; changes queue up)', (r: ReplicationApi, t: GeoRepTarget) => r.pause(t)],
      ['resume', 'Resume a paused session', (r: ReplicationApi, t: GeoRepTarget) => r.resume(t)],
      ['checkpoint', 'Set a checkpoint at the current time: the session reports when everything up to it has synced', (r: ReplicationApi, t: GeoRepTarget) => r.checkpoint(t)],
      ['restart', 'Stop and start a session: new workers replay the changelogs since the last sync (for a worker that no longer progresses)', (r: ReplicationApi, t: GeoRepTarget) => r.restart(t)],
    ] as const) {
      app.post<{ Params: Params }>(
        `/replication/sessions/:volume/:remoteHost/:remoteVolume/${verb}`,
        { config: { access: 'admin' }, schema: { summary, tags, params: SessionParams, response: { 200: SessionSchema } } },
        async (req) => {
          const r = need(ctx);
          const t = targetOf(req.params);
          if (!(await gluster(() => r.get(t)))) throw new ApiError('not_found', `no replication ${nameOf(req.params)}`);
          await gluster(() => run(r, t));
          ctx.audit.record({ who: whoOf(req), action: `${verb} replication`, target: nameOf(req.params), ip: req.ip });
          const s = await gluster(() => r.get(t));
          if (!s) throw new ApiError('not_found', `no replication ${nameOf(req.params)}`);
          return s;
        },
      );
    }

    app.get(
      '/replication/ssh-key',
      {
        config: { access: 'admin' },
        schema: { summary: "This appliance's root ssh public key, to authorize on a remote appliance before replicating to it", tags, response: { 200: SshKeyView } },
      },
      async () => {
        if (!ctx.sshKeys) throw new ApiError('replication_unavailable');
        return { key: await ctx.sshKeys.publicKey() };
      },
    );

    app.post<{ Body: Static<typeof AuthorizeBody> }>(
      '/replication/authorized-keys',
      {
        config: { access: 'admin' },
        schema: {
          summary: "Let the appliance holding this public key log in as root (a primary's key, for geo-replication to this appliance)",
          tags,
          body: AuthorizeBody,
          response: { 200: AuthorizeView },
        },
      },
      async (req) => {
        if (!ctx.sshKeys) throw new ApiError('replication_unavailable');
        let added: boolean;
        try {
          added = await ctx.sshKeys.authorize(req.body.key);
        } catch (err) {
          if (err instanceof SshKeyError) throw new ApiError('validation_failed', undefined, [{ path: 'key', message: err.message }]);
          throw err;
        }
        // The audit names the key by its type and comment, not its body.
        const label = req.body.key.trim().split(/\s+/).filter((_, i) => i !== 1).join(' ');
        if (added) ctx.audit.record({ who: whoOf(req), action: 'authorize ssh key', target: label, ip: req.ip });
        return { added };
      },
    );

    app.delete<{ Params: Params }>(
      '/replication/sessions/:volume/:remoteHost/:remoteVolume',
      { config: { access: 'admin' }, schema: { summary: 'Stop and delete a session (the remote copy stays as it is)', tags, params: SessionParams, response: { 204: Empty } } },
      async (req, reply) => {
        const r = need(ctx);
        const t = targetOf(req.params);
        if (!(await gluster(() => r.get(t)))) throw new ApiError('not_found', `no replication ${nameOf(req.params)}`);
        await gluster(() => r.remove(t));
        ctx.audit.record({ who: whoOf(req), action: 'delete replication', target: nameOf(req.params), ip: req.ip });
        return reply.code(204).send();
      },
    );
  };
}

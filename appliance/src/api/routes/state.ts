/**
 * /api/v1/state — the desired-state document (secrets redacted), its
 * history of revisions (who, when, diff) and rollback to an earlier
 * revision, which is itself a new revision. A rollback restores the whole
 * document — users' passwords of that time included — but never to a
 * document without an enabled admin.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { redact, redactDiff } from '../../state/diff.js';
import type { RevisionSummary } from '../../state/store.js';
import { type ApiContext, whoOf } from '../context.js';
import { ApiError } from '../errors.js';
import { enabledAdmins } from './users.js';

const DiffOpSchema = Type.Object({
  op: Type.Union([Type.Literal('add'), Type.Literal('remove'), Type.Literal('replace')]),
  path: Type.String({ description: 'JSON Pointer (RFC 6901) into the document' }),
  value: Type.Optional(Type.Unknown()),
  old: Type.Optional(Type.Unknown()),
});

const RevisionSummarySchema = Type.Object(
  { revision: Type.Integer(), at: Type.String({ format: 'date-time' }), who: Type.String(), message: Type.String(), diff: Type.Array(DiffOpSchema) },
  { title: 'RevisionSummary' },
);
const StateDoc = Type.Object({}, { additionalProperties: true, description: 'the state document (see the state schema); password hashes redacted' });
const RevisionSchema = Type.Object({ ...RevisionSummarySchema.properties, state: StateDoc }, { title: 'Revision' });

const HistoryQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'only revisions older than this one (paging)' })),
});
const RevParams = Type.Object({ revision: Type.Integer({ minimum: 1 }) });
const RollbackBody = Type.Object({ revision: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

const summary = (r: RevisionSummary) => ({ revision: r.revision, at: r.at, who: r.who, message: r.message, diff: redactDiff(r.diff) });

export function stateRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const tags = ['state'];
    app.get('/state', { schema: { summary: 'The current desired-state document', tags, response: { 200: RevisionSchema } } }, async () => ({
      ...summary(ctx.store.head),
      state: redact(ctx.store.state),
    }));

    app.get<{ Querystring: Static<typeof HistoryQuery> }>(
      '/state/history',
      { schema: { summary: 'Revisions, newest first', tags, querystring: HistoryQuery, response: { 200: Type.Object({ revision: Type.Integer(), items: Type.Array(RevisionSummarySchema) }) } } },
      async (req) => ({
        revision: ctx.store.revision,
        items: (await ctx.store.history({ limit: req.query.limit ?? 50, ...(req.query.before ? { before: req.query.before } : {}) })).map(summary),
      }),
    );

    app.get<{ Params: Static<typeof RevParams> }>(
      '/state/history/:revision',
      { schema: { summary: 'One revision with its whole document', tags, params: RevParams, response: { 200: RevisionSchema } } },
      async (req) => {
        const r = await ctx.store.getRevision(req.params.revision);
        if (!r) throw new ApiError('not_found', `revision ${req.params.revision} does not exist (or was pruned)`);
        return { ...summary(r), state: redact(r.state) };
      },
    );

    app.post<{ Body: Static<typeof RollbackBody> }>(
      '/state/rollback',
      { schema: { summary: 'Roll back to a revision (makes a new revision)', tags, body: RollbackBody, response: { 201: RevisionSummarySchema } } },
      async (req, reply) => {
        const who = whoOf(req);
        const rev = await ctx.store.rollback(req.body.revision, who, (next) => {
          // Rolling back to before the first-boot setup would lock everyone out.
          if (enabledAdmins(next) === 0 && enabledAdmins(ctx.store.state) > 0) {
            throw new ApiError('last_admin', `revision ${req.body.revision} has no enabled admin: rolling back to it would lock everyone out`);
          }
        });
        ctx.audit.record({ who, action: 'rollback', target: `revision ${req.body.revision}`, revision: rev.revision, ip: req.ip });
        return reply.code(201).header('cairn-revision', rev.revision).send(summary(rev));
      },
    );
  };
}

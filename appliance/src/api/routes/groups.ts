/** /api/v1/groups — Unix groups for SMB access lists (validGroups) and file ownership. */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { GroupSchema, type State } from '../../state/schema.js';
import { change, type ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { Empty, ListOf, NameParams } from '../schemas.js';
import { nextId } from './users.js';

const GroupView = Type.Object({ ...GroupSchema.properties }, { title: 'Group' });
const GroupCreate = Type.Object(
  { name: GroupSchema.properties.name, gid: Type.Optional(GroupSchema.properties.gid), members: Type.Optional(GroupSchema.properties.members) },
  { additionalProperties: false },
);
const GroupPatch = Type.Object({ members: GroupSchema.properties.members }, { additionalProperties: false });

function findGroup(s: State, name: string) {
  const g = s.groups.find((x) => x.name === name);
  if (!g) throw new ApiError('not_found', `group ${JSON.stringify(name)} does not exist`);
  return g;
}

/** Semantic errors about groups.N become paths relative to the body. */
function relative(e: unknown): unknown {
  if (e && typeof e === 'object' && 'fields' in e) {
    for (const f of (e as { fields: Array<{ path: string }> }).fields) f.path = f.path.replace(/^groups\.\d+\./, '');
  }
  return e;
}

export function groupRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const tags = ['groups'];
    app.get('/groups', { schema: { summary: 'List groups', tags, response: { 200: ListOf(GroupView) } } }, async () => ({
      revision: ctx.store.revision,
      items: ctx.store.state.groups,
    }));

    app.get<{ Params: Static<typeof NameParams> }>(
      '/groups/:name',
      { schema: { summary: 'One group', tags, params: NameParams, response: { 200: GroupView } } },
      async (req) => findGroup(ctx.store.state, req.params.name),
    );

    app.post<{ Body: Static<typeof GroupCreate> }>(
      '/groups',
      { schema: { summary: 'Create a group', tags, body: GroupCreate, response: { 201: GroupView } } },
      async (req, reply) => {
        const b = req.body;
        if (ctx.store.state.groups.some((g) => g.name === b.name)) throw new ApiError('already_exists', `group ${JSON.stringify(b.name)} already exists`, [{ path: 'name', message: 'is already taken' }]);
        const rev = await change(ctx, req, 'create group', b.name, (s) => {
          s.groups.push({ name: b.name, gid: b.gid ?? nextId(s.groups.map((g) => g.gid), 2000), members: b.members ?? [] });
        }).catch((e: unknown) => {
          throw relative(e);
        });
        return reply.code(201).header('cairn-revision', rev.revision).send(findGroup(rev.state, b.name));
      },
    );

    app.patch<{ Params: Static<typeof NameParams>; Body: Static<typeof GroupPatch> }>(
      '/groups/:name',
      { schema: { summary: 'Set the members of a group', tags, params: NameParams, body: GroupPatch, response: { 200: GroupView } } },
      async (req, reply) => {
        const rev = await change(ctx, req, 'change group', req.params.name, (s) => {
          findGroup(s, req.params.name).members = req.body.members;
        }).catch((e: unknown) => {
          throw relative(e);
        });
        return reply.header('cairn-revision', rev.revision).send(findGroup(rev.state, req.params.name));
      },
    );

    app.delete<{ Params: Static<typeof NameParams> }>(
      '/groups/:name',
      { schema: { summary: 'Delete a group (refused while a share names it)', tags, params: NameParams, response: { 204: Empty } } },
      async (req, reply) => {
        const name = req.params.name;
        const rev = await change(ctx, req, 'delete group', name, (s) => {
          findGroup(s, name);
          const users = s.shares.filter((x) => x.smb.validGroups.includes(name)).map((x) => x.name);
          if (users.length) throw new ApiError('in_use', `group ${JSON.stringify(name)} is a valid group of share(s) ${users.join(', ')}`);
          s.groups = s.groups.filter((g) => g.name !== name);
        });
        return reply.code(204).header('cairn-revision', rev.revision).send();
      },
    );
  };
}

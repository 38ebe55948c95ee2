/**
 * /api/v1/users — appliance users: console logins (with a role) and SMB
 * users (every user with a password can use SMB shares that allow them).
 * Password hashes never leave the appliance.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { hashPassword, MIN_PASSWORD_LENGTH, ntHash } from '../../auth/password.js';
import { RoleSchema, UserSchema, type State, type User } from '../../state/schema.js';
import { change, type ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { Empty, ListOf, NameParams } from '../schemas.js';

export const UserViewSchema = Type.Object(
  {
    name: Type.String(),
    uid: Type.Integer(),
    fullName: Type.String(),
    role: Type.Optional(RoleSchema),
    enabled: Type.Boolean(),
    groups: Type.Array(Type.String()),
  },
  { title: 'User' },
);

const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 256, description: `at least ${MIN_PASSWORD_LENGTH} characters` });

export const UserCreateSchema = Type.Object(
  {
    name: UserSchema.properties.name,
    uid: Type.Optional(UserSchema.properties.uid),
    fullName: Type.Optional(UserSchema.properties.fullName),
    role: Type.Optional(RoleSchema),
    password: Password,
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, title: 'UserCreate' },
);

export const UserPatchSchema = Type.Object(
  {
    fullName: Type.Optional(UserSchema.properties.fullName),
    role: Type.Optional(Type.Union([RoleSchema, Type.Null()], { description: 'null removes console access' })),
    password: Type.Optional(Password),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1, title: 'UserPatch' },
);

export function userView(s: State, u: User): Static<typeof UserViewSchema> {
  return {
    name: u.name,
    uid: u.uid,
    fullName: u.fullName,
    ...(u.role ? { role: u.role } : {}),
    enabled: u.enabled,
    groups: s.groups.filter((g) => g.members.includes(u.name)).map((g) => g.name),
  };
}

export const enabledAdmins = (s: State) => s.users.filter((u) => u.role === 'admin' && u.enabled).length;

export function nextId(taken: number[], floor: number): number {
  const set = new Set(taken);
  let id = floor;
  while (set.has(id)) id++;
  return id;
}

function findUser(s: State, name: string): User {
  const u = s.users.find((x) => x.name === name);
  if (!u) throw new ApiError('not_found', `user ${JSON.stringify(name)} does not exist`);
  return u;
}

export function usersRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    const tags = ['users'];
    app.get('/users', { schema: { summary: 'List users', tags, response: { 200: ListOf(UserViewSchema) } } }, async () => {
      const s = ctx.store.state;
      return { revision: ctx.store.revision, items: s.users.map((u) => userView(s, u)) };
    });

    app.get<{ Params: Static<typeof NameParams> }>(
      '/users/:name',
      { schema: { summary: 'One user', tags, params: NameParams, response: { 200: UserViewSchema } } },
      async (req) => userView(ctx.store.state, findUser(ctx.store.state, req.params.name)),
    );

    app.post<{ Body: Static<typeof UserCreateSchema> }>(
      '/users',
      { schema: { summary: 'Create a user', tags, body: UserCreateSchema, response: { 201: UserViewSchema } } },
      async (req, reply) => {
        const b = req.body;
        if (ctx.store.state.users.some((u) => u.name === b.name)) throw new ApiError('already_exists', `user ${JSON.stringify(b.name)} already exists`, [{ path: 'name', message: 'is already taken' }]);
        const passwordHash = await hashPassword(b.password, ctx.scrypt);
        const rev = await change(ctx, req, 'create user', b.name, (s) => {
          const uid = b.uid ?? nextId(s.users.map((u) => u.uid), 2000);
          if (s.users.some((u) => u.uid === uid)) throw new ApiError('already_exists', `uid ${uid} is taken`, [{ path: 'uid', message: 'is already taken' }]);
          s.users.push({
            name: b.name,
            uid,
            fullName: b.fullName ?? '',
            ...(b.role ? { role: b.role } : {}),
            passwordHash,
            ntHash: ntHash(b.password),
            enabled: b.enabled ?? true,
          });
        });
        return reply.code(201).header('cairn-revision', rev.revision).send(userView(rev.state, findUser(rev.state, b.name)));
      },
    );

    app.patch<{ Params: Static<typeof NameParams>; Body: Static<typeof UserPatchSchema> }>(
      '/users/:name',
      { schema: { summary: 'Change a user (name and uid stay)', tags, params: NameParams, body: UserPatchSchema, response: { 200: UserViewSchema } } },
      async (req, reply) => {
        const b = req.body;
        findUser(ctx.store.state, req.params.name);
        const passwordHash = b.password !== undefined ? await hashPassword(b.password, ctx.scrypt) : undefined;
        const rev = await change(ctx, req, 'change user', req.params.name, (s) => {
          const u = findUser(s, req.params.name);
          const hadAdmin = enabledAdmins(s) > 0;
          if (b.fullName !== undefined) u.fullName = b.fullName;
          if (b.role === null) delete u.role;
          else if (b.role !== undefined) u.role = b.role;
          if (b.enabled !== undefined) u.enabled = b.enabled;
          if (b.password !== undefined && passwordHash) {
            u.passwordHash = passwordHash;
            u.ntHash = ntHash(b.password);
          }
          if (hadAdmin && enabledAdmins(s) === 0) throw new ApiError('last_admin');
        });
        if (b.password !== undefined || b.enabled === false || b.role !== undefined) ctx.sessions.destroyUser(req.params.name);
        return reply.header('cairn-revision', rev.revision).send(userView(rev.state, findUser(rev.state, req.params.name)));
      },
    );

    app.delete<{ Params: Static<typeof NameParams> }>(
      '/users/:name',
      { schema: { summary: 'Delete a user (removed from its groups; refused while a share names it)', tags, params: NameParams, response: { 204: Empty } } },
      async (req, reply) => {
        const name = req.params.name;
        const rev = await change(ctx, req, 'delete user', name, (s) => {
          findUser(s, name);
          const users = s.shares.filter((sh) => sh.smb.validUsers.includes(name)).map((sh) => sh.name);
          if (users.length) throw new ApiError('in_use', `user ${JSON.stringify(name)} is a valid user of share(s) ${users.join(', ')}: remove it there first`);
          const hadAdmin = enabledAdmins(s) > 0;
          s.users = s.users.filter((u) => u.name !== name);
          for (const g of s.groups) g.members = g.members.filter((m) => m !== name);
          if (hadAdmin && enabledAdmins(s) === 0) throw new ApiError('last_admin');
        });
        ctx.sessions.destroyUser(name);
        return reply.code(204).header('cairn-revision', rev.revision).send();
      },
    );
  };
}

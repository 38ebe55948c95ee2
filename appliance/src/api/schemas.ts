/**
 * Schemas shared by several routes. Domain schemas live beside their routes
 * (routes/<domain>.ts) and are derived from the state schema (state/schema.ts).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { ApiContext } from './context.js';

export const ProblemSchema = Type.Object({
  driver: Type.String(),
  objectKind: Type.String(),
  objectId: Type.String(),
  message: Type.String(),
});

export const Problems = Type.Array(ProblemSchema, { description: 'what the reconciler could not do for this object, and why' });

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({ revision: Type.Integer({ description: 'state revision the list was read at' }), items: Type.Array(item) });

export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const Empty = Type.Null({ description: 'no content' });

export function problemsOf(ctx: ApiContext, kind: string, id: string) {
  return ctx.reconciler?.problemsFor(kind, id) ?? [];
}

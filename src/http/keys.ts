import type { FastifyInstance } from 'fastify';
import type { ApiKeyRecord, KeyScope } from '../store/store.js';
import type { HttpContext } from './context.js';
import { keyParams, newKeyBody, readQuery } from './schemas.js';

function keyToWire(record: ApiKeyRecord) {
  return { id: record.id, scope: record.scope, name: record.name, boards: record.boards, created_at: record.createdAt, revoked_at: record.revokedAt };
}

export function registerKeyRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.post<{ Body: { scope: KeyScope; name?: string; boards?: string[] } }>('/v1/keys', { config: { scope: 'admin' }, schema: { body: newKeyBody } }, async (request, reply) => {
    const issued = await ctx.auth.keys.issue(request.body.scope, request.body.name ?? '', request.body.boards ?? null);
    return reply.status(201).send({
      id: issued.record.id,
      key: issued.key,
      scope: issued.record.scope,
      name: issued.record.name,
      boards: issued.record.boards,
      created_at: issued.record.createdAt,
    });
  });

  app.get('/v1/keys', { config: { scope: 'admin' }, schema: { querystring: readQuery } }, async () => {
    return { keys: (await ctx.auth.keys.list()).map(keyToWire) };
  });

  app.delete<{ Params: { keyId: string } }>('/v1/keys/:keyId', { config: { scope: 'admin' }, schema: { params: keyParams } }, async (request) => {
    return keyToWire(await ctx.auth.keys.revoke(request.params.keyId));
  });
}

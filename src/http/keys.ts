import type { FastifyInstance } from 'fastify';
import type { KeyScope } from '../store/store.js';
import type { HttpContext } from './context.js';
import { newKeyBody } from './schemas.js';

export function registerKeyRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.post<{ Body: { scope: KeyScope; name?: string } }>('/v1/keys', { config: { scope: 'admin' }, schema: { body: newKeyBody } }, async (request, reply) => {
    const issued = await ctx.auth.keys.issue(request.body.scope, request.body.name ?? '');
    return reply.status(201).send({
      id: issued.record.id,
      key: issued.key,
      scope: issued.record.scope,
      name: issued.record.name,
      created_at: issued.record.createdAt,
    });
  });
}

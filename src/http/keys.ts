import type { FastifyInstance } from 'fastify';
import type { RateLimit } from '../core/rate-limit.js';
import type { ApiKeyRecord, KeyScope } from '../store/store.js';
import type { HttpContext } from './context.js';
import { keyParams, newKeyBody, readQuery } from './schemas.js';

interface WireRateLimit {
  max: number;
  window_ms: number;
}

function rateLimitToWire(limit: RateLimit | null): WireRateLimit | null {
  return limit === null ? null : { max: limit.max, window_ms: limit.windowMs };
}

function keyToWire(record: ApiKeyRecord) {
  return {
    id: record.id,
    scope: record.scope,
    name: record.name,
    boards: record.boards,
    rate_limit: rateLimitToWire(record.rateLimit),
    created_at: record.createdAt,
    revoked_at: record.revokedAt,
  };
}

export function registerKeyRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.post<{ Body: { scope: KeyScope; name?: string; boards?: string[]; rate_limit?: WireRateLimit } }>(
    '/v1/keys',
    { config: { scope: 'admin' }, schema: { body: newKeyBody } },
    async (request, reply) => {
      const { scope, name, boards, rate_limit: limit } = request.body;
      const rateLimit = limit === undefined ? null : { max: limit.max, windowMs: limit.window_ms };
      const issued = await ctx.auth.keys.issue(scope, name ?? '', boards ?? null, rateLimit);
      const { revoked_at: _revoked, ...created } = keyToWire(issued.record);
      return reply.status(201).send({ ...created, key: issued.key });
    },
  );

  app.get('/v1/keys', { config: { scope: 'admin' }, schema: { querystring: readQuery } }, async () => {
    return { keys: (await ctx.auth.keys.list()).map(keyToWire) };
  });

  app.delete<{ Params: { keyId: string } }>('/v1/keys/:keyId', { config: { scope: 'admin' }, schema: { params: keyParams } }, async (request) => {
    return keyToWire(await ctx.auth.keys.revoke(request.params.keyId));
  });
}

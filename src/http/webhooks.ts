/** GET /v1/leaderboards/{id}/webhooks: a board's webhook deliveries and their state, for operators (admin). */
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { boardParams, webhooksQuery } from './schemas.js';
import { webhookToWire } from './wire.js';

export function registerWebhookRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get<{ Params: { id: string }; Querystring: { limit: number; before?: number } }>(
    '/v1/leaderboards/:id/webhooks',
    { config: { scope: 'admin' }, schema: { params: boardParams, querystring: webhooksQuery } },
    async (request) => {
      const { limit, before } = request.query;
      const deliveries = await ctx.ladder.listWebhooks(request.params.id, limit, before);
      return { leaderboard_id: request.params.id, deliveries: deliveries.map(webhookToWire) };
    },
  );
}

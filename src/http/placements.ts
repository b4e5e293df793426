import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { periodsQuery, profileParams } from './schemas.js';
import { entryToWire } from './wire.js';

export function registerPlacementRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get<{ Params: { pid: string }; Querystring: { limit: number; before?: number } }>(
    '/v1/participants/:pid/placements',
    { config: { scope: 'read' }, schema: { params: profileParams, querystring: periodsQuery } },
    async (request) => {
      const { pid } = request.params;
      const placements = await ctx.ladder.placements(pid, request.query.limit, request.query.before);
      return {
        participant_id: pid,
        placements: placements.map((placement) => ({ leaderboard_id: placement.boardId, period: placement.periodId, closed_at: placement.closedAt, total: placement.total, ...entryToWire(placement.entry, ctx.ladder.boardRules(placement.boardId)?.scoreDecimals ?? 0) })),
      };
    },
  );
}

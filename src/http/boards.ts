import type { FastifyInstance } from 'fastify';
import type { Metadata, Operator, SortOrder } from '../core/types.js';
import type { HttpContext } from './context.js';
import { boardParams, listQuery, newBoardBody, readQuery } from './schemas.js';
import { boardToWire } from './wire.js';

interface NewBoardBody {
  id: string;
  name?: string;
  sort_order: SortOrder;
  operator: Operator;
  metadata?: Metadata;
}

export function registerBoardRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;

  app.post<{ Body: NewBoardBody }>('/v1/leaderboards', { config: { scope: 'admin' }, schema: { body: newBoardBody } }, async (request, reply) => {
    const body = request.body;
    const board = await ladder.createBoard({
      id: body.id,
      name: body.name,
      sortOrder: body.sort_order,
      operator: body.operator,
      metadata: body.metadata ?? null,
    });
    return reply.status(201).header('Location', `/v1/leaderboards/${board.config.id}`).send(boardToWire(board));
  });

  app.get<{ Querystring: { limit: number; offset: number } }>('/v1/leaderboards', { config: { scope: 'read' }, schema: { querystring: listQuery } }, async (request) => {
    const { limit, offset } = request.query;
    const page = await ladder.listBoards(offset, limit);
    return { leaderboards: page.boards.map(boardToWire), total: page.total };
  });

  app.get<{ Params: { id: string } }>('/v1/leaderboards/:id', { config: { scope: 'read' }, schema: { params: boardParams, querystring: readQuery } }, async (request) => {
    return boardToWire(await ladder.getBoard(request.params.id));
  });

  app.delete<{ Params: { id: string } }>('/v1/leaderboards/:id', { config: { scope: 'admin' }, schema: { params: boardParams } }, async (request, reply) => {
    await ladder.deleteBoard(request.params.id);
    return reply.status(204).send();
  });
}

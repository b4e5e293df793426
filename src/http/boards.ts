import type { FastifyInstance } from 'fastify';
import { LadderError } from '../core/errors.js';
import type { ScoreRules } from '../core/score-rules.js';
import type { Metadata, Operator, RankTies, SortOrder } from '../core/types.js';
import type { BoardSettings } from '../service/ladder.js';
import type { HttpContext } from './context.js';
import { boardParams, boardPatchBody, listQuery, newBoardBody, periodsQuery, readQuery } from './schemas.js';
import { boardToWire, periodToWire } from './wire.js';

/** A board's changeable settings as the API spells them (snake_case). */
interface SettingsBody {
  name?: string;
  metadata?: Metadata | null;
  starts_at?: number | null;
  ends_at?: number | null;
  reset?: 'hourly' | 'daily' | 'weekly' | 'monthly' | { cron: string; timezone?: string } | null;
  keep_all_time?: boolean;
  scopes?: string[];
  rank_ties?: RankTies;
  score_decimals?: number;
  webhook_url?: string | null;
  webhook_top?: number;
  rules?: RulesBody | null;
  rate_limit?: { max: number; window_ms: number } | null;
}

interface RulesBody {
  min_score?: number | null;
  max_score?: number | null;
  max_increase?: number | null;
  max_increase_per_window?: { amount: number; window_ms: number } | null;
  monotonic?: boolean;
}

function rulesOf(body: RulesBody): Partial<ScoreRules> {
  const window = body.max_increase_per_window;
  return {
    minScore: body.min_score,
    maxScore: body.max_score,
    maxIncrease: body.max_increase,
    maxIncreasePerWindow: window === undefined || window === null ? window : { amount: window.amount, windowMs: window.window_ms },
    monotonic: body.monotonic,
  };
}

interface NewBoardBody extends SettingsBody {
  id: string;
  sort_order: SortOrder;
  operator: Operator;
}

interface PatchBody extends SettingsBody {
  id?: unknown;
  sort_order?: unknown;
  operator?: unknown;
}

function settingsOf(body: SettingsBody): BoardSettings {
  const reset = body.reset;
  return {
    name: body.name,
    metadata: body.metadata,
    startsAt: body.starts_at,
    endsAt: body.ends_at,
    reset: reset === undefined || reset === null || typeof reset === 'string' ? reset : { cron: reset.cron, timezone: reset.timezone ?? 'UTC' },
    keepAllTime: body.keep_all_time,
    scopes: body.scopes,
    rankTies: body.rank_ties,
    scoreDecimals: body.score_decimals,
    webhookUrl: body.webhook_url,
    webhookTop: body.webhook_top,
    scoreRules: body.rules === undefined || body.rules === null ? body.rules : rulesOf(body.rules),
    rateLimit: body.rate_limit === undefined || body.rate_limit === null ? body.rate_limit : { max: body.rate_limit.max, windowMs: body.rate_limit.window_ms },
  };
}

export function registerBoardRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;

  app.post<{ Body: NewBoardBody }>('/v1/leaderboards', { config: { scope: 'admin' }, schema: { body: newBoardBody } }, async (request, reply) => {
    const body = request.body;
    const board = await ladder.createBoard({ ...settingsOf(body), id: body.id, sortOrder: body.sort_order, operator: body.operator });
    // The webhook's secret is shown to the admin who sets the webhook, and in no other answer.
    return reply.status(201).header('Location', `/v1/leaderboards/${board.config.id}`).send(boardToWire(board, { secret: true }));
  });

  app.get<{ Querystring: { limit: number; offset: number } }>('/v1/leaderboards', { config: { scope: 'read' }, schema: { querystring: listQuery } }, async (request) => {
    const { limit, offset } = request.query;
    const page = await ladder.listBoards(offset, limit);
    return { leaderboards: page.boards.map((board) => boardToWire(board)), total: page.total };
  });

  app.get<{ Params: { id: string } }>('/v1/leaderboards/:id', { config: { scope: 'read' }, schema: { params: boardParams, querystring: readQuery } }, async (request) => {
    return boardToWire(await ladder.getBoard(request.params.id));
  });

  app.patch<{ Params: { id: string }; Body: PatchBody }>(
    '/v1/leaderboards/:id',
    { config: { scope: 'admin' }, schema: { params: boardParams, body: boardPatchBody } },
    async (request) => {
      const body = request.body;
      for (const field of ['id', 'sort_order', 'operator'] as const) {
        if (body[field] !== undefined) throw new LadderError('immutable_field', `${field} of a board cannot change; create another board`, { field });
      }
      return boardToWire(await ladder.updateBoard(request.params.id, settingsOf(body)), { secret: body.webhook_url !== undefined });
    },
  );

  app.post<{ Params: { id: string } }>('/v1/leaderboards/:id/close', { config: { scope: 'admin' }, schema: { params: boardParams } }, async (request) => {
    return boardToWire(await ladder.closeBoard(request.params.id));
  });

  app.post<{ Params: { id: string } }>('/v1/leaderboards/:id/reopen', { config: { scope: 'admin' }, schema: { params: boardParams } }, async (request) => {
    return boardToWire(await ladder.reopenBoard(request.params.id));
  });

  app.get<{ Params: { id: string }; Querystring: { limit: number; before?: number } }>(
    '/v1/leaderboards/:id/periods',
    { config: { scope: 'read' }, schema: { params: boardParams, querystring: periodsQuery } },
    async (request) => {
      const { limit, before } = request.query;
      const periods = await ladder.listPeriods(request.params.id, limit, before);
      const decimals = ladder.boardRules(request.params.id)?.scoreDecimals ?? 0;
      return { leaderboard_id: request.params.id, periods: periods.map((period) => periodToWire(period, decimals)) };
    },
  );

  app.delete<{ Params: { id: string } }>('/v1/leaderboards/:id', { config: { scope: 'admin' }, schema: { params: boardParams } }, async (request, reply) => {
    await ladder.deleteBoard(request.params.id);
    return reply.status(204).send();
  });
}

/**
 * A participant's history: `GET /v1/leaderboards/:id/participants/:pid/events`,
 * their accepted and refused submissions on the board, newest first, a page
 * at a time (service/ladder.ts history, store.ts participantHistory).
 *
 * The cursor is opaque to clients: base64url of the JSON pair of the store's
 * bounds (store.ts HistoryCursor), checked when it comes back.
 */
import type { FastifyInstance } from 'fastify';
import { invalidField } from '../core/errors.js';
import type { HistoryCursor } from '../store/store.js';
import type { HttpContext } from './context.js';
import { historyQuery, participantParams } from './schemas.js';
import { historyItemToWire } from './wire.js';

export function registerHistoryRoute(app: FastifyInstance, ctx: HttpContext): void {
  app.get<{ Params: { id: string; pid: string }; Querystring: { limit: number; cursor?: string } }>(
    '/v1/leaderboards/:id/participants/:pid/events',
    { config: { scope: 'read' }, schema: { params: participantParams, querystring: historyQuery } },
    async (request) => {
      const { id, pid } = request.params;
      const cursor = request.query.cursor === undefined ? null : decodeCursor(request.query.cursor);
      const page = await ctx.ladder.history(id, pid, cursor, request.query.limit);
      return {
        leaderboard_id: id,
        participant_id: pid,
        events: page.items.map(historyItemToWire),
        next_cursor: page.next === null ? null : encodeCursor(page.next),
      };
    },
  );
}

export function encodeCursor(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify([cursor.acceptedBefore, cursor.rejectedBefore])).toString('base64url');
}

/** The cursor a page answered as next_cursor; invalid_request naming `cursor` for anything else. */
export function decodeCursor(text: string): HistoryCursor {
  let pair: unknown;
  try {
    pair = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    pair = null;
  }
  const bound = (value: unknown): value is number | null => value === null || (Number.isSafeInteger(value) && (value as number) >= 0);
  if (!Array.isArray(pair) || pair.length !== 2 || !bound(pair[0]) || !bound(pair[1]) || (pair[0] === null && pair[1] === null)) {
    throw invalidField('cursor', 'must be a next_cursor of an earlier page of this history');
  }
  return { acceptedBefore: pair[0], rejectedBefore: pair[1] };
}

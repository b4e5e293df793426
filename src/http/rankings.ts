import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertParticipantId } from '../core/ids.js';
import { stateTag } from '../core/epoch.js';
import { invalidField } from '../core/errors.js';
import type { ShownEntry } from '../core/types.js';
import type { HttpContext } from './context.js';
import { boardParams, MAX_LIMIT, participantParams, participantQuery, rankingsQuery } from './schemas.js';
import { rankingsToWire, standingToWire } from './wire.js';

interface RankingsQuery {
  limit: number;
  offset: number;
  around?: string;
  participants?: string;
  wait_for_version_after?: number;
  epoch?: string;
  timeout_ms?: number;
  period?: string;
  scope?: string;
}

/**
 * ETag of an answer: `"<epoch>-<version>"`. The epoch is part of it, so
 * that a version issued again (a board created again, a restart after a
 * crash, a rebuild) never matches an old tag. When entries show what
 * profiles set, a digest of it follows: a rename changes the answer but
 * not the board's version.
 */
function etagOf(state: { epoch: string; version: number }, entries: readonly ShownEntry[]): string {
  let digest = 0x811c9dc5;
  let shown = false;
  for (const entry of entries) {
    if (entry.displayName === undefined && entry.avatarUrl === undefined) continue;
    shown = true;
    const text = `${entry.participantId}\u0000${entry.displayName ?? ''}\u0000${entry.avatarUrl ?? ''}\u0000`;
    for (let i = 0; i < text.length; i++) digest = Math.imul(digest ^ text.charCodeAt(i), 0x01000193);
  }
  const tag = stateTag(state.epoch, state.version);
  return shown ? `"${tag}-${(digest >>> 0).toString(16).padStart(8, '0')}"` : `"${tag}"`;
}

function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  void reply.header('ETag', etag).header('Cache-Control', 'no-cache');
  const tags = request.headers['if-none-match'];
  if (typeof tags !== 'string') return false;
  return tags.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*');
}

function parseParticipants(list: string): string[] {
  const ids = list.split(',').filter((id) => id !== '');
  if (ids.length > MAX_LIMIT) throw invalidField('participants', `must list at most ${MAX_LIMIT} participants`);
  for (const id of ids) assertParticipantId(id, 'participants');
  return [...new Set(ids)];
}

export function registerRankingRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder, config } = ctx;

  app.get<{ Params: { id: string }; Querystring: RankingsQuery }>(
    '/v1/leaderboards/:id/rankings',
    { config: { scope: 'read' }, schema: { params: boardParams, querystring: rankingsQuery } },
    async (request, reply) => {
      const { id } = request.params;
      const query = request.query;
      if (query.around !== undefined && query.participants !== undefined) {
        throw invalidField('around', 'cannot be combined with participants');
      }
      const participants = query.participants === undefined ? undefined : parseParticipants(query.participants);
      if (query.wait_for_version_after !== undefined) {
        const timeout = Math.min(query.timeout_ms ?? config.longPollMaxMs, config.longPollMaxMs);
        // Stop waiting as soon as the client goes away, so that no request lingers.
        // (The response's 'close' fires when the connection ends before it is sent.)
        const gone = new AbortController();
        const onClose = () => gone.abort();
        reply.raw.once('close', onClose);
        try {
          await ladder.waitForVersion(id, query.wait_for_version_after, query.epoch ?? null, timeout, gone.signal, { scope: query.scope, period: query.period });
        } finally {
          reply.raw.off('close', onClose);
        }
      }
      const page = await ladder.rankings(id, { limit: query.limit, offset: query.offset, around: query.around, participants, period: query.period, scope: query.scope });
      if (notModified(request, reply, etagOf(page, page.entries))) return reply.status(304).send();
      return rankingsToWire(page);
    },
  );

  app.get<{ Params: { id: string; pid: string }; Querystring: { neighbors: number; period?: string; scope?: string } }>(
    '/v1/leaderboards/:id/participants/:pid',
    { config: { scope: 'read' }, schema: { params: participantParams, querystring: participantQuery } },
    async (request, reply) => {
      const { id, pid } = request.params;
      const standing = await ladder.participant(id, pid, request.query.neighbors, request.query.period, request.query.scope);
      if (notModified(request, reply, etagOf(standing, [standing.entry, ...standing.above, ...standing.below]))) return reply.status(304).send();
      return standingToWire(standing);
    },
  );
}

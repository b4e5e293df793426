/**
 * Moderation of a board's participants (admin): hide one (they leave every
 * ranking and live view, the ranks below close up, their submissions are
 * refused) and unhide them (they come back as they were), flag one for
 * review and unflag them; the board's list of both; and one participant's
 * marks with their refused submissions counted by code.
 */
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { boardParams, moderationBody, participantParams, readQuery } from './schemas.js';
import { markToWire, moderationToWire } from './wire.js';

type Params = { id: string; pid: string };
type Body = { reason?: string } | null | undefined;

export function registerModerationRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;
  const route = { config: { scope: 'admin' as const }, schema: { params: participantParams, body: moderationBody } };

  app.post<{ Params: Params; Body: Body }>('/v1/leaderboards/:id/participants/:pid/hide', route, async (request) => {
    return moderationToWire(await ladder.hideParticipant(request.params.id, request.params.pid, request.body?.reason ?? null));
  });

  app.post<{ Params: Params }>('/v1/leaderboards/:id/participants/:pid/unhide', route, async (request) => {
    return moderationToWire(await ladder.unhideParticipant(request.params.id, request.params.pid));
  });

  app.post<{ Params: Params; Body: Body }>('/v1/leaderboards/:id/participants/:pid/flag', route, async (request) => {
    return moderationToWire(await ladder.flagParticipant(request.params.id, request.params.pid, request.body?.reason ?? null));
  });

  app.post<{ Params: Params }>('/v1/leaderboards/:id/participants/:pid/unflag', route, async (request) => {
    return moderationToWire(await ladder.unflagParticipant(request.params.id, request.params.pid));
  });

  app.get<{ Params: Params }>('/v1/leaderboards/:id/participants/:pid/moderation', { config: { scope: 'admin' }, schema: { params: participantParams, querystring: readQuery } }, async (request) => {
    const state = await ladder.participantModeration(request.params.id, request.params.pid);
    return { ...moderationToWire(state), rejections: state.rejections };
  });

  app.get<{ Params: { id: string } }>('/v1/leaderboards/:id/moderation', { config: { scope: 'admin' }, schema: { params: boardParams, querystring: readQuery } }, async (request) => {
    const { hidden, flagged } = await ladder.moderation(request.params.id);
    return { leaderboard_id: request.params.id, hidden: hidden.map(markToWire), flagged: flagged.map(markToWire) };
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../core/config.js';
import { parentBoardId } from '../core/derived.js';
import { LadderError } from '../core/errors.js';
import type { Auth } from '../service/auth.js';
import { isPlayerToken, type PlayerIdentity, type PlayerTokens } from '../service/player-tokens.js';
import type { HttpAuth } from './context.js';

/** What a player token may do on a write route: submit its own scores (`scores`), or edit its own profile (`profile`). */
export type PlayerWrite = 'scores' | 'profile';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a request needs, checked by the onRequest hook of `registerAuthorization` before its body is read or validated. */
    scope?: 'read' | 'write' | 'admin';
    /** Set on the write routes a player token may use; a token gets 403 on every other write or admin route. */
    player?: PlayerWrite;
  }
  interface FastifyRequest {
    /** The player a request's token speaks for, once authorized with one; null for API keys and open reads. */
    player: PlayerIdentity | null;
  }
}

/**
 * The key of a request: `Authorization: Bearer <key>`, or `?key=` on GET
 * requests, because browsers cannot set headers on WebSocket and EventSource.
 */
export function requestKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? (match[1] as string) : header;
  }
  if (request.method === 'GET') {
    const key = (request.query as Record<string, unknown> | undefined)?.key;
    if (typeof key === 'string') return key;
  }
  return null;
}

/** The board a request acts on: the `:id` of the /v1/leaderboards/{id}/... routes. */
function requestBoard(request: FastifyRequest): string | undefined {
  const id = (request.params as Record<string, unknown> | undefined)?.id;
  return typeof id === 'string' && request.routeOptions.url?.startsWith('/v1/leaderboards/:id') === true ? id : undefined;
}

export function httpAuth(keys: Auth, config: Config, tokens: PlayerTokens | null): HttpAuth {
  return {
    keys,
    async authorize(request, scope) {
      if (scope === 'read' && !config.readAuth) return;
      const credential = requestKey(request);
      // Without player tokens configured, a JWT is just a key that does not exist.
      if (tokens !== null && credential !== null && isPlayerToken(credential)) {
        const player = await tokens.verify(credential);
        authorizePlayer(request, scope, player);
        request.player = player;
        return;
      }
      await keys.authorize(credential, scope, requestBoard(request));
    },
  };
}

/**
 * A player token reads like a read key (every board). It writes only on the
 * routes marked `player`: scores to the boards of its `boards` claim (its
 * participant is checked against the body by the score routes), and its own
 * profile. Everything else is 403.
 */
function authorizePlayer(request: FastifyRequest, scope: 'read' | 'write' | 'admin', player: PlayerIdentity): void {
  if (scope === 'read') return;
  const write = scope === 'write' ? request.routeOptions.config.player : undefined;
  if (write === undefined) {
    throw new LadderError('forbidden', `a player token may read, submit its own scores and edit its own profile; this request needs a key with scope '${scope}'`, {
      required_scope: scope,
      participant_id: player.participantId,
    });
  }
  if (write === 'profile') {
    const pid = (request.params as Record<string, unknown> | undefined)?.pid;
    if (pid !== player.participantId) throw foreignParticipant(player, pid);
    return;
  }
  const boardId = requestBoard(request);
  const board = boardId === undefined ? undefined : (parentBoardId(boardId) ?? boardId);
  if (player.boards !== null && (board === undefined || !player.boards.includes(board))) {
    throw new LadderError('forbidden', `this player token may not submit to leaderboard '${board ?? ''}'`, { leaderboard_id: board, token_boards: player.boards });
  }
}

/** 403 for a player token acting for `participantId`, someone else. */
export function foreignParticipant(player: PlayerIdentity, participantId: unknown): LadderError {
  return new LadderError('forbidden', `this player token acts for participant '${player.participantId}' only`, {
    participant_id: typeof participantId === 'string' ? participantId : null,
    token_participant_id: player.participantId,
  });
}

/**
 * The route's `config.scope` is checked in an onRequest hook, before the
 * body is parsed and anything is validated, so that a caller without the
 * right key learns that first (401/403), whatever else is wrong with the
 * request. Routes without a scope (the WebSocket subscribe route refuses on
 * its own socket) pass.
 */
export function registerAuthorization(app: FastifyInstance, auth: HttpAuth): void {
  app.decorateRequest('player', null);
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope;
    if (scope !== undefined) await auth.authorize(request, scope);
  });
}

/**
 * Participants across boards: their profile (display name, avatar URL,
 * metadata), and their erasure (the right to be forgotten).
 */
import type { FastifyInstance } from 'fastify';
import type { Metadata } from '../core/types.js';
import type { HttpContext } from './context.js';
import { profileBody, profileParams, readQuery } from './schemas.js';
import { erasureToWire, profileToWire } from './wire.js';

interface ProfileBody {
  display_name?: string | null;
  avatar_url?: string | null;
  metadata?: Metadata | null;
}

export function registerParticipantRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const { ladder } = ctx;

  app.put<{ Params: { pid: string }; Body: ProfileBody }>(
    '/v1/participants/:pid',
    { config: { scope: 'write', player: 'profile' }, schema: { params: profileParams, body: profileBody } },
    async (request) => {
      const body = request.body;
      const profile = await ladder.putProfile(request.params.pid, { displayName: body.display_name, avatarUrl: body.avatar_url, metadata: body.metadata });
      return profileToWire(profile);
    },
  );

  app.get<{ Params: { pid: string } }>('/v1/participants/:pid', { config: { scope: 'read' }, schema: { params: profileParams, querystring: readQuery } }, async (request) => {
    return profileToWire(await ladder.getProfile(request.params.pid));
  });

  app.delete<{ Params: { pid: string } }>('/v1/participants/:pid', { config: { scope: 'admin' }, schema: { params: profileParams } }, async (request) => {
    return erasureToWire(await ladder.eraseParticipant(request.params.pid));
  });
}

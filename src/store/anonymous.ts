import { randomBytes } from 'node:crypto';

/**
 * The id an erased participant's places in closed periods keep: random, so
 * that nothing links it to them (a hash of their id could be matched), and
 * another on every board.
 */
export function anonymousParticipantId(): string {
  return `erased-${randomBytes(8).toString('hex')}`;
}

/**
 * Validation of a participant's profile (PUT /v1/participants/{pid}), in one
 * place for every caller: the HTTP schema answers early, and the service
 * refuses the same inputs with the same codes whoever calls it.
 */
import { invalidField } from './errors.js';
import { assertParticipantId } from './ids.js';
import { checkMetadata } from './submission.js';
import type { Metadata, Profile } from './types.js';

/** Characters (code points) of a display name at most. */
export const MAX_DISPLAY_NAME = 100;
/** Characters of an avatar URL at most. */
export const MAX_AVATAR_URL = 2048;

/** A profile as a caller gives it; an absent field is cleared (PUT replaces the whole profile). */
export interface ProfileInput {
  readonly displayName?: string | null | undefined;
  readonly avatarUrl?: string | null | undefined;
  readonly metadata?: Metadata | null | undefined;
}

/** C0 and C1 control characters (line breaks, tabs, escapes): a name is shown on one line, as it is. */
// eslint-disable-next-line no-control-regex -- these are exactly what the rule refuses
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks the input and completes it into the participant's profile, set at
 * `now`. Throws LadderError('invalid_request') naming the field.
 */
export function toProfile(participantId: string, input: ProfileInput, now: number): Profile {
  assertParticipantId(participantId, 'participant_id');
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidField('body', 'must be an object');
  const displayName = input.displayName ?? null;
  if (displayName !== null) {
    const characters = typeof displayName === 'string' ? [...displayName].length : 0;
    if (characters < 1 || characters > MAX_DISPLAY_NAME || CONTROL.test(displayName)) {
      throw invalidField('display_name', `must be a string of 1 to ${MAX_DISPLAY_NAME} characters without control characters, or null`);
    }
  }
  const avatarUrl = input.avatarUrl ?? null;
  if (avatarUrl !== null && !isAvatarUrl(avatarUrl)) throw invalidField('avatar_url', `must be an http or https URL of at most ${MAX_AVATAR_URL} characters, or null`);
  const metadata = input.metadata ?? null;
  checkMetadata(metadata, 'metadata');
  return { participantId, displayName, avatarUrl, metadata, updatedAt: now };
}

function isAvatarUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_AVATAR_URL || CONTROL.test(value) || value.includes(' ')) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  // The URL as given must be absolute: new URL() also accepts 'http:host' and other forms browsers repair.
  return (url.protocol === 'http:' || url.protocol === 'https:') && /^https?:\/\/[^/?#]/i.test(value);
}

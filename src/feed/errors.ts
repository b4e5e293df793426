/**
 * Errors of the real-time edge. They become `{"type":"error"}` messages on the
 * subscription that caused them, never a closed connection: a bad message
 * must not affect the other subscriptions (docs/protocol.md).
 */
import type { FeedErrorCode } from './protocol.js';

export class FeedError extends Error {
  readonly code: FeedErrorCode;

  constructor(code: FeedErrorCode, message: string) {
    super(message);
    this.name = 'FeedError';
    this.code = code;
  }
}

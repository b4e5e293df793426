/**
 * The one error type the client throws. `code` is the server's stable error
 * code (src/core/errors.ts, docs/protocol.md), or one of the client's own:
 * `network_error` (no answer at all) and `unexpected_response` (an answer that
 * is not Ladder's error shape, e.g. from a proxy). Which codes end a live
 * view is decided here too, once (fatalErrors).
 */
import { ErrorCodes } from '../core/errors.js';
import type { ApiErrorDetail } from './types.js';

export class LadderApiError extends Error {
  readonly code: string;
  /** HTTP status; 0 when there was no HTTP answer (network error, WebSocket message). */
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, status: number, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LadderApiError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** The error of a non-2xx answer, from its `{error:{code,message,details?}}` body when it has one. */
export async function errorFromResponse(response: Response): Promise<LadderApiError> {
  const text = await response.text().catch(() => '');
  let detail: Partial<ApiErrorDetail> | undefined;
  try {
    detail = (JSON.parse(text) as { error?: Partial<ApiErrorDetail> }).error;
  } catch {
    detail = undefined;
  }
  if (detail && typeof detail.code === 'string' && typeof detail.message === 'string') {
    return new LadderApiError(detail.code, response.status, detail.message, detail.details);
  }
  const excerpt = text.slice(0, 200).trim();
  return new LadderApiError('unexpected_response', response.status, `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`);
}

/**
 * Server error codes that no retry can fix, each with the reason. Every
 * transport and every live view asks this one list (isFatal): a view that
 * gets one of these stops and reports it through `onError`; any other error
 * is retried with backoff.
 *
 * Not fatal, on purpose: `too_many_subscriptions` and `too_many_views` are
 * limits of the moment (other views close, another instance has room), and
 * `internal_error`, `shutting_down` and the client's own `network_error` pass
 * with time. Codes are the server's (src/core/errors.ts, docs/protocol.md),
 * written as strings so that this list does not depend on which codes one
 * server version's catalogue holds.
 */
export const fatalErrors: Readonly<Record<string, string>> = {
  board_not_found: 'The board does not exist, or was deleted; asking again does not create it.',
  invalid_view: 'The server refuses the view as written; the same view is refused again.',
  invalid_request: 'The request is malformed (over SSE and polling: the view); the same request fails the same way.',
  missing_api_key: 'Reads need a key and the client has none; only a new client with a key can read.',
  invalid_api_key: 'The key is unknown or revoked; it does not become valid by retrying.',
  forbidden: 'The key lacks the read scope; its scope does not change by retrying.',
};

/** Whether an error with this code ends a live view (fatalErrors). */
export function isFatal(code: string): boolean {
  return Object.hasOwn(fatalErrors, code);
}

/**
 * The error of a real-time `error` message. Such messages carry no HTTP
 * status, so it is the status of the same cause in the server's catalogue
 * (0 for a code the catalogue does not hold).
 */
export function errorFromMessage(message: { readonly code: string; readonly message: string }): LadderApiError {
  const entry = (ErrorCodes as Readonly<Record<string, { readonly status: number } | undefined>>)[message.code];
  return new LadderApiError(message.code, entry?.status ?? 0, message.message);
}

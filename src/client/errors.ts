/**
 * The one error type the client throws. `code` is the server's stable error
 * code (src/core/errors.ts, docs/protocol.md), or one of the client's own:
 * `network_error` (no answer at all) and `unexpected_response` (an answer that
 * is not Ladder's error shape, e.g. from a proxy).
 */
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

/**
 * The signature of a webhook delivery, in the Ladder-Signature header:
 * `t=<ms since 1970>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the
 * board's webhook_secret (its text, as UTF-8). Signing the time with the body
 * lets a receiver refuse an old delivery replayed by someone who saw it.
 * README "Webhooks" shows a receiver's check; verifyWebhookSignature is the
 * same check, for tests and for receivers written in TypeScript.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'ladder-signature';
export const DELIVERY_HEADER = 'ladder-delivery';
export const EVENT_HEADER = 'ladder-event';

/** The Ladder-Signature header of `body` (the exact bytes sent) at time `t`. */
export function signWebhook(secret: string, body: string, t: number): string {
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

/**
 * True when `header` signs `body` with `secret` and its time is within
 * `toleranceMs` of `now`. Compares in constant time.
 */
export function verifyWebhookSignature(secret: string, header: string, body: string, now: number = Date.now(), toleranceMs = 5 * 60_000): boolean {
  const parts = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const signature = parts.get('v1');
  if (!Number.isSafeInteger(t) || signature === undefined || Math.abs(now - t) > toleranceMs) return false;
  const expected = Buffer.from(hmac(secret, t, body), 'hex');
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function hmac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

/**
 * Fixed-point scores (a board's `score_decimals`): a board with d decimals
 * takes and answers scores as decimals (a race time of 83.217 s on a
 * 3-decimal board) and keeps them as the exact integers ×10^d (83217), so
 * every rank stays exact. The conversion happens at the edges (HTTP, the
 * live views), never inside the ranking.
 *
 * A JSON number arrives as a double, so the decimal it stands for is the
 * shortest one that reads back as that double (String(n), which is also
 * what the client wrote when it sent n); its digits are scaled exactly, as
 * text, never by multiplying floats (1.005 * 1000 is 1004.9999999999999).
 * Answers go out as the double nearest to the decimal, which prints as that
 * decimal whenever it has at most 15 significant digits.
 */
import { LadderError } from './errors.js';
import { MAX_SCORE } from './ordering.js';

const POWERS = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000] as const;

/** A JSON number's shortest decimal form: sign, digits, and the exponent of its last digit. */
const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/**
 * The integer a board with `decimals` decimals keeps for a submitted score
 * (or increment): value × 10^decimals, exactly. Throws invalid_score naming
 * `field` when the value is no number, has more decimals than the board
 * keeps, or lies beyond ±(2^53−1) once scaled. Complexity: O(digits).
 */
export function scoreFromWire(value: unknown, decimals: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidScore(field, decimals);
  if (decimals === 0) {
    if (!Number.isSafeInteger(value)) throw invalidScore(field, decimals);
    return value;
  }
  const match = NUMBER_TEXT.exec(String(value));
  if (match === null) throw invalidScore(field, decimals);
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  // value = digits × 10^shift; strip the zeros at both ends so that the shift says how many decimals it has.
  let digits = (whole! + fraction).replace(/^0+/, '');
  let shift = Number(exponent) - fraction.length + decimals;
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  shift += trailing;
  if (digits === '') return 0;
  if (shift < 0) throw invalidScore(field, decimals);
  // 16 digits and more than 2^53 − 1 is what rounds to 2^53 or beyond: the comparison stays exact.
  if (digits.length + shift > 16) throw invalidScore(field, decimals);
  const scaled = Number(digits + '0'.repeat(shift));
  if (scaled > MAX_SCORE) throw invalidScore(field, decimals);
  return sign === '-' ? -scaled : scaled;
}

/** The number an answer shows for a kept score: score / 10^decimals, with at most `decimals` decimals. Complexity: O(1). */
export function scoreToWire(score: number, decimals: number): number {
  return decimals === 0 ? score : score / POWERS[decimals]!;
}

/** The exact decimal text of a kept score, e.g. '9007199254740.991' (for messages). */
export function scoreText(score: number, decimals: number): string {
  if (decimals === 0) return String(score);
  const digits = String(Math.abs(score)).padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${score < 0 ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

function invalidScore(field: string, decimals: number): LadderError {
  if (decimals === 0) return new LadderError('invalid_score', `${field} must be an integer within ±(2^53−1)`, { field });
  const unit = decimals === 1 ? 'decimal' : 'decimals';
  return new LadderError('invalid_score', `${field} must be a number with at most ${decimals} ${unit} within ±${scoreText(MAX_SCORE, decimals)}`, {
    field,
    score_decimals: decimals,
  });
}

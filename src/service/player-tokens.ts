/**
 * Player tokens: JWTs that a game's own backend signs for one player, so that
 * the player's client can talk to Ladder without holding an API key. A token's
 * `sub` is the participant it acts for, and its optional `boards` claim lists
 * the boards it may submit to (absent: every board). What a token may do is
 * decided at the edge (http/auth.ts, http/scores.ts); this file only verifies.
 *
 * HS256 tokens are checked with LADDER_JWT_SECRET; RS256/ES256 tokens with
 * LADDER_JWT_PUBLIC_KEY or the keys of LADDER_JWT_JWKS_URL. Each algorithm is
 * accepted only with its own kind of key, so that a public key can never be
 * used as an HMAC secret (the classic algorithm-confusion forgery).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { playerTokensEnabled, type Config } from '../core/config.js';
import { LadderError } from '../core/errors.js';
import { isParticipantId } from '../core/ids.js';

/** Who a verified token speaks for. */
export interface PlayerIdentity {
  readonly participantId: string;
  /** The boards it may submit to; null: every board. */
  readonly boards: readonly string[] | null;
}

/** Issuers' and Ladder's clocks may disagree a little; an expiry this close still counts as valid. */
const CLOCK_TOLERANCE_S = 5;

/** How long an answer of LADDER_JWT_JWKS_URL may take before the token is refused (and the JWKS tried again next time). */
const JWKS_TIMEOUT_MS = 5_000;

/**
 * True when `credential` is shaped like a JWT (three dot-separated parts whose
 * first decodes as a JOSE header): API keys (`ldr_...`, no dots) never are.
 */
export function isPlayerToken(credential: string): boolean {
  if (credential.startsWith('ldr_') || credential.split('.').length !== 3) return false;
  try {
    return typeof decodeProtectedHeader(credential).alg === 'string';
  } catch {
    return false;
  }
}

function invalidToken(reason: string): LadderError {
  return new LadderError('invalid_token', `the player token is not valid: ${reason}`);
}

/** The asymmetric algorithm of a PEM public key: RS256 for RSA, ES256 for P-256. Throws naming the option otherwise. */
function publicKeyOf(pem: string): { key: KeyObject; algorithm: 'RS256' | 'ES256' } {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`invalid LADDER_JWT_PUBLIC_KEY: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType === 'rsa') return { key, algorithm: 'RS256' };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { key, algorithm: 'ES256' };
  throw new Error(`invalid LADDER_JWT_PUBLIC_KEY: must be an RSA (RS256) or P-256 (ES256) key, got ${key.asymmetricKeyType ?? 'unknown'}`);
}

export class PlayerTokens {
  private readonly getKey: JWTVerifyGetKey;
  private readonly options: JWTVerifyOptions;

  private constructor(config: Config) {
    const secret = config.jwtSecret === null ? null : new TextEncoder().encode(config.jwtSecret);
    const publicKey = config.jwtPublicKey === null ? null : publicKeyOf(config.jwtPublicKey);
    const jwks = config.jwtJwksUrl === null ? null : createRemoteJWKSet(new URL(config.jwtJwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS });
    const algorithms = [...(secret === null ? [] : ['HS256']), ...(publicKey !== null ? [publicKey.algorithm] : jwks !== null ? ['RS256', 'ES256'] : [])];
    this.options = {
      algorithms,
      requiredClaims: ['sub', 'exp'],
      clockTolerance: CLOCK_TOLERANCE_S,
      ...(config.jwtAudience === null ? {} : { audience: config.jwtAudience }),
      ...(config.jwtIssuer === null ? {} : { issuer: config.jwtIssuer }),
    };
    this.getKey = async (header, token) => {
      // jose has checked header.alg against `algorithms` already; each picks its own kind of key.
      if (header.alg === 'HS256' && secret !== null) return secret;
      if (publicKey !== null) return publicKey.key;
      if (jwks !== null) return jwks(header, token);
      throw invalidToken(`algorithm ${header.alg ?? 'none'} is not accepted`);
    };
  }

  /** The verifier of the configuration's player tokens, or null when none are configured. Throws naming a bad option. */
  static fromConfig(config: Config): PlayerTokens | null {
    return playerTokensEnabled(config) ? new PlayerTokens(config) : null;
  }

  /**
   * The identity of a valid token. Throws invalid_token (401) for a malformed,
   * badly signed, expired or not yet valid token, one for another audience or
   * issuer, or one whose `sub` or `boards` is not what Ladder takes.
   */
  async verify(token: string): Promise<PlayerIdentity> {
    let payload: Record<string, unknown>;
    try {
      payload = (await jwtVerify(token, this.getKey, this.options)).payload;
    } catch (err) {
      if (err instanceof LadderError) throw err;
      throw refusalOf(err);
    }
    if (!isParticipantId(payload.sub)) throw invalidToken('`sub` must be a participant id');
    const boards = payload.boards;
    if (boards !== undefined && !(Array.isArray(boards) && boards.every((board) => typeof board === 'string'))) {
      throw invalidToken('`boards` must be a list of board ids');
    }
    return { participantId: payload.sub, boards: boards === undefined ? null : (boards as string[]) };
  }
}

/** Why jose refused a token, said without echoing the token; a JWKS that could not be had is Ladder's problem (503), not the token's. */
function refusalOf(err: unknown): LadderError {
  if (err instanceof errors.JWTExpired) return invalidToken('it has expired');
  if (err instanceof errors.JWTClaimValidationFailed) return invalidToken(`claim \`${err.claim}\` ${err.reason === 'missing' ? 'is missing' : 'is not accepted'}`);
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalidToken('the signature does not verify');
  if (err instanceof errors.JOSEAlgNotAllowed) return invalidToken('its algorithm is not accepted');
  if (err instanceof errors.JWKSNoMatchingKey) return invalidToken('no key of the JWKS matches it');
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || !(err instanceof errors.JOSEError) || err.code === 'ERR_JOSE_GENERIC') {
    return new LadderError('token_keys_unavailable', 'the signing keys of player tokens (LADDER_JWT_JWKS_URL) could not be fetched; retry');
  }
  return invalidToken('it is malformed');
}

/**
 * API keys. A key is `ldr_` + 32 random bytes (base64url); only its sha256 is
 * stored. Scopes nest: admin ⊇ write ⊇ read. LADDER_ADMIN_KEY, when set, is an
 * admin key that is never stored, and is never rate limited (it is the
 * operator's own, and must work while every other key is throttled).
 *
 * Keys that authorized are remembered for KEY_CACHE_MS, which spares a store
 * lookup and a sha256 per request. A revocation goes out on the bus, and
 * every process forgets the key at once; the expiry bounds how long a
 * process that missed the message could still accept it.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { parentBoardId } from '../core/derived.js';
import { LadderError } from '../core/errors.js';
import type { RateLimit } from '../core/rate-limit.js';
import type { ChangeBus } from '../feed/bus.js';
import type { ApiKeyRecord, KeyScope, Store } from '../store/store.js';

const KEY_CACHE_MS = 1000;

const scopeRank: Record<KeyScope, number> = { read: 1, write: 2, admin: 3 };

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(): string {
  return `ldr_${randomBytes(32).toString('base64url')}`;
}

export interface IssuedKey {
  readonly record: ApiKeyRecord;
  /** The key itself: shown once, never stored. */
  readonly key: string;
}

/** What a key may do: its scope, the boards it is limited to (null: every board), and how often. */
interface Grant {
  readonly scope: KeyScope;
  readonly boards: readonly string[] | null;
  /** The key's own rate limit; null: the default. */
  readonly rateLimit: RateLimit | null;
  /** LADDER_ADMIN_KEY: never rate limited. */
  readonly exempt: boolean;
}

interface RememberedKey extends Grant {
  readonly hash: string;
  readonly until: number;
}

/** What rate limits need to know of a valid key (http/rate-limits.ts). */
export interface KeyLimit {
  /** sha256 of the key: what counters are kept under, never the key itself. */
  readonly hash: string;
  readonly rateLimit: RateLimit | null;
  readonly exempt: boolean;
}


export class Auth {
  private readonly configuredAdminHash: Buffer | null;
  /** Keys that authorized recently, as given (see the file's comment). */
  private readonly validKeys = new Map<string, RememberedKey>();
  private readonly unsubscribeBus: () => void;

  constructor(
    private readonly store: Store,
    private readonly bus: ChangeBus,
    configuredAdminKey: string | null,
  ) {
    this.configuredAdminHash = configuredAdminKey === null ? null : Buffer.from(hashKey(configuredAdminKey), 'hex');
    this.unsubscribeBus = bus.subscribe((message) => {
      if (message.kind !== 'key_revoked') return;
      for (const [key, remembered] of this.validKeys) if (remembered.hash === message.hash) this.validKeys.delete(key);
    });
  }

  /**
   * Makes sure an admin key exists. Without LADDER_ADMIN_KEY, the first start
   * generates one and returns it so that it can be printed once.
   */
  async ensureAdminKey(): Promise<IssuedKey | null> {
    if (this.configuredAdminHash !== null) return null;
    if ((await this.store.countApiKeys('admin')) > 0) return null;
    return this.issue('admin', 'generated on first start');
  }

  /** A new key; `boards` limits it to those boards (null: every board), `rateLimit` to that rate (null: the default). */
  async issue(scope: KeyScope, name: string, boards: readonly string[] | null = null, rateLimit: RateLimit | null = null): Promise<IssuedKey> {
    const key = generateKey();
    const record: ApiKeyRecord = { id: randomUUID(), hash: hashKey(key), scope, name, createdAt: Date.now(), revokedAt: null, boards, rateLimit };
    await this.store.createApiKey(record);
    return { record, key };
  }

  /** Every stored key, oldest first (hashes only). */
  list(): Promise<ApiKeyRecord[]> {
    return this.store.listApiKeys();
  }

  /** Revokes the key in every process. Throws key_not_found. */
  async revoke(id: string): Promise<ApiKeyRecord> {
    const record = await this.store.revokeApiKey(id, Date.now());
    if (record === null) throw new LadderError('key_not_found', `no API key has id '${id}'`, { key_id: id });
    this.bus.publish({ kind: 'key_revoked', keyId: record.id, hash: record.hash });
    return record;
  }

  close(): void {
    this.unsubscribeBus();
  }

  /**
   * Throws 401 for a missing or unknown key, and 403 for a key below `scope`
   * or limited to other boards than `boardId` (the board the request acts
   * on; undefined for requests on no one board, which a board-limited key
   * may make only with scope read: listing boards shows them all).
   */
  async authorize(key: string | null, scope: KeyScope, boardId?: string): Promise<KeyScope> {
    if (key === null || key === '') {
      throw new LadderError('missing_api_key', 'this request needs an API key: send `Authorization: Bearer <key>`');
    }
    const grant = await this.grantOf(key);
    if (grant === null) throw new LadderError('invalid_api_key', 'the API key is not valid');
    const granted = grant.scope;
    if (grant.boards !== null) {
      // A key for a board covers its derived rankings (`<id>#all`, `<id>#<scope>=<value>`).
      const board = boardId === undefined ? undefined : (parentBoardId(boardId) ?? boardId);
      if (board === undefined ? scope !== 'read' : !grant.boards.includes(board)) {
        throw new LadderError('forbidden', board === undefined ? 'this key is limited to some boards, and this request is not on one of them' : `this key is not allowed on leaderboard '${board}'`, {
          ...(board === undefined ? {} : { leaderboard_id: board }),
          key_boards: grant.boards,
        });
      }
    }
    if (scopeRank[granted] < scopeRank[scope]) {
      throw new LadderError('forbidden', `this request needs a key with scope '${scope}'; this key has '${granted}'`, {
        required_scope: scope,
        key_scope: granted,
      });
    }
    return granted;
  }

  /**
   * The rate limit of a valid key, or null for a missing, unknown or revoked
   * one. A key that just authorized is in the cache, so this costs a map lookup.
   */
  async limitOf(key: string | null): Promise<KeyLimit | null> {
    if (key === null || key === '') return null;
    const grant = await this.grantOf(key);
    if (grant === null) return null;
    return { hash: this.validKeys.get(key)?.hash ?? hashKey(key), rateLimit: grant.rateLimit, exempt: grant.exempt };
  }

  private async grantOf(key: string): Promise<Grant | null> {
    const now = Date.now();
    const remembered = this.validKeys.get(key);
    if (remembered !== undefined && remembered.until > now) return remembered;
    const hash = hashKey(key);
    const grant = await this.lookUp(hash);
    // Only valid keys are remembered, so the map stays as small as the set of keys in use.
    if (grant === null) this.validKeys.delete(key);
    else this.validKeys.set(key, { ...grant, hash, until: now + KEY_CACHE_MS });
    return grant;
  }

  private async lookUp(hash: string): Promise<Grant | null> {
    if (this.configuredAdminHash !== null && timingSafeEqual(this.configuredAdminHash, Buffer.from(hash, 'hex'))) {
      return { scope: 'admin', boards: null, rateLimit: null, exempt: true };
    }
    const record = await this.store.findApiKey(hash);
    return record === null || record.revokedAt !== null ? null : { scope: record.scope, boards: record.boards, rateLimit: record.rateLimit, exempt: false };
  }
}

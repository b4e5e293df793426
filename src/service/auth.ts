/**
 * API keys. A key is `ldr_` + 32 random bytes (base64url); only its sha256 is
 * stored. Scopes nest: admin ⊇ write ⊇ read. LADDER_ADMIN_KEY, when set, is an
 * admin key that is never stored.
 *
 * Keys that authorized are remembered for KEY_CACHE_MS, which spares a store
 * lookup and a sha256 per request. A revocation goes out on the bus, and
 * every process forgets the key at once; the expiry bounds how long a
 * process that missed the message could still accept it.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { LadderError } from '../core/errors.js';
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

interface RememberedKey {
  readonly hash: string;
  readonly scope: KeyScope;
  readonly until: number;
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

  async issue(scope: KeyScope, name: string): Promise<IssuedKey> {
    const key = generateKey();
    const record: ApiKeyRecord = { id: randomUUID(), hash: hashKey(key), scope, name, createdAt: Date.now(), revokedAt: null };
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

  /** Throws 401 for a missing or unknown key and 403 for a key below `scope`. */
  async authorize(key: string | null, scope: KeyScope): Promise<KeyScope> {
    if (key === null || key === '') {
      throw new LadderError('missing_api_key', 'this request needs an API key: send `Authorization: Bearer <key>`');
    }
    const granted = await this.scopeOf(key);
    if (granted === null) throw new LadderError('invalid_api_key', 'the API key is not valid');
    if (scopeRank[granted] < scopeRank[scope]) {
      throw new LadderError('forbidden', `this request needs a key with scope '${scope}'; this key has '${granted}'`, {
        required_scope: scope,
        key_scope: granted,
      });
    }
    return granted;
  }

  private async scopeOf(key: string): Promise<KeyScope | null> {
    const now = Date.now();
    const remembered = this.validKeys.get(key);
    if (remembered !== undefined && remembered.until > now) return remembered.scope;
    const hash = hashKey(key);
    const scope = await this.lookUp(hash);
    // Only valid keys are remembered, so the map stays as small as the set of keys in use.
    if (scope === null) this.validKeys.delete(key);
    else this.validKeys.set(key, { hash, scope, until: now + KEY_CACHE_MS });
    return scope;
  }

  private async lookUp(hash: string): Promise<KeyScope | null> {
    if (this.configuredAdminHash !== null && timingSafeEqual(this.configuredAdminHash, Buffer.from(hash, 'hex'))) return 'admin';
    const record = await this.store.findApiKey(hash);
    return record === null || record.revokedAt !== null ? null : record.scope;
  }
}

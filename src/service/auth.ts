/**
 * API keys. A key is `ldr_` + 32 random bytes (base64url); only its sha256 is
 * stored. Scopes nest: admin ⊇ write ⊇ read. LADDER_ADMIN_KEY, when set, is an
 * admin key that is never stored.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { LadderError } from '../core/errors.js';
import type { ApiKeyRecord, KeyScope, Store } from '../store/store.js';

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

export class Auth {
  private readonly configuredAdminHash: Buffer | null;
  /** Known keys by hash; a key is looked up in the store once, then served from here. */
  private readonly known = new Map<string, ApiKeyRecord>();
  private readonly validKeys = new Map<string, KeyScope>();

  constructor(
    private readonly store: Store,
    configuredAdminKey: string | null,
  ) {
    this.configuredAdminHash = configuredAdminKey === null ? null : Buffer.from(hashKey(configuredAdminKey), 'hex');
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
    const record: ApiKeyRecord = { id: randomUUID(), hash: hashKey(key), scope, name, createdAt: Date.now() };
    await this.store.createApiKey(record);
    this.known.set(record.hash, record);
    return { record, key };
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
    // Valid keys are remembered as given, which spares a sha256 per request;
    // only valid ones, so the map stays as small as the set of issued keys.
    const remembered = this.validKeys.get(key);
    if (remembered !== undefined) return remembered;
    const scope = await this.lookUp(key);
    if (scope !== null) this.validKeys.set(key, scope);
    return scope;
  }

  private async lookUp(key: string): Promise<KeyScope | null> {
    const hash = hashKey(key);
    if (this.configuredAdminHash !== null && timingSafeEqual(this.configuredAdminHash, Buffer.from(hash, 'hex'))) return 'admin';
    let record = this.known.get(hash);
    if (record === undefined) {
      const stored = await this.store.findApiKey(hash);
      if (stored === null) return null;
      record = stored;
      this.known.set(hash, record);
    }
    return record.scope;
  }
}

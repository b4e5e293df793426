/**
 * Scopes (DESIGN.md "scope"): a board may declare dimensions such as
 * `region`; a submission names its participant's value of some of them
 * (`scope: {region: "eu"}`), and each value has its own exact ranking beside
 * the global one. This file holds the rules of names and values, in one place
 * for every caller. Pure.
 */
import { MAX_SCOPES, SCOPE_NAME_PATTERN } from './board.js';
import { invalidField } from './errors.js';

/** A submission's scope values, by scope name. */
export type ScopeValues = Readonly<Record<string, string>>;

/** Values travel in URLs (`?scope=region:eu`) and in hidden board ids, so they are short and URL-safe, without ':' or '='. */
export const SCOPE_VALUE_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
export const SCOPE_VALUE_RULE = 'must be 1 to 64 characters of A-Z a-z 0-9 _ . -';

const scopeName = new RegExp(SCOPE_NAME_PATTERN);
const scopeValue = new RegExp(SCOPE_VALUE_PATTERN);

export function isScopeValue(value: unknown): value is string {
  return typeof value === 'string' && scopeValue.test(value);
}

/**
 * Checks a submission's `scope` object: at most MAX_SCOPES values, each a
 * string of SCOPE_VALUE_PATTERN under a well-formed name. Throws
 * invalid_request naming the field, e.g. `scope.region`. Whether the board
 * declares the names is checkScopeNames' business (the board's rules are the
 * service's). Complexity: O(keys).
 */
export function checkScopeShape(scope: unknown, field: string): asserts scope is ScopeValues {
  if (typeof scope !== 'object' || scope === null || Array.isArray(scope)) throw invalidField(field, 'must be an object of scope values, e.g. {"region": "eu"}');
  const names = Object.keys(scope);
  if (names.length > MAX_SCOPES) throw invalidField(field, `must hold at most ${MAX_SCOPES} scope values`);
  for (const name of names) {
    if (!scopeName.test(name)) throw invalidField(`${field}.${name}`, 'is not a scope name: 1 to 32 characters of a-z 0-9 _, starting with a letter');
    if (!isScopeValue((scope as Record<string, unknown>)[name])) throw invalidField(`${field}.${name}`, SCOPE_VALUE_RULE);
  }
}

/** Throws invalid_request naming `scope.<name>` unless the board declares every name of `scope`. */
export function checkScopeNames(scope: ScopeValues, board: { readonly id: string; readonly scopes: readonly string[] }, field: string): void {
  for (const name in scope) {
    if (!board.scopes.includes(name)) {
      const declared = board.scopes.length === 0 ? 'it declares none' : `its scopes: ${board.scopes.join(', ')}`;
      throw invalidField(`${field}.${name}`, `is not a scope of leaderboard '${board.id}' (${declared})`);
    }
  }
}

/** One scope value, as `?scope=region:eu` names it. */
export interface ScopeRef {
  readonly name: string;
  readonly value: string;
}

/** Parses `<name>:<value>` of a query parameter or subscribe message against the board's scopes. Throws invalid_request naming `field`. */
export function parseScopeRef(text: unknown, board: { readonly id: string; readonly scopes: readonly string[] }, field = 'scope'): ScopeRef {
  const colon = typeof text === 'string' ? text.indexOf(':') : -1;
  if (typeof text !== 'string' || colon < 0) throw invalidField(field, 'must be <scope>:<value>, e.g. region:eu');
  const name = text.slice(0, colon);
  const value = text.slice(colon + 1);
  if (!board.scopes.includes(name)) {
    throw invalidField(field, `names '${name}', which is not a scope of leaderboard '${board.id}' (${board.scopes.length === 0 ? 'it declares none' : `its scopes: ${board.scopes.join(', ')}`})`);
  }
  if (!isScopeValue(value)) throw invalidField(field, `has a value that ${SCOPE_VALUE_RULE}`);
  return { name, value };
}

/** The scope values in name order, so that two spellings of the same object give one fingerprint. */
export function canonicalScope(scope: ScopeValues): ScopeValues {
  const sorted: Record<string, string> = {};
  for (const name of Object.keys(scope).sort()) sorted[name] = scope[name]!;
  return sorted;
}

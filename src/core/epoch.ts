/**
 * Epochs (DESIGN.md "epoch"): an opaque token per board that changes
 * whenever versions could be issued again. 12 hex digits from the platform's
 * CSPRNG (globalThis.crypto: Node and browsers), so two epochs never collide
 * in practice and the token never contains the `-` that separates it from the
 * version in ETags and SSE ids.
 */
export function newEpoch(): string {
  const bytes = new Uint8Array(6);
  globalThis.crypto.getRandomValues(bytes);
  let epoch = '';
  for (const byte of bytes) epoch += byte.toString(16).padStart(2, '0');
  return epoch;
}

/** `<epoch>-<version>`: the ETag body and the SSE event id of a board state. */
export function stateTag(epoch: string, version: number): string {
  return `${epoch}-${version}`;
}

/** Parses a stateTag; null for anything else (then the client gets a snapshot). */
export function parseStateTag(text: string): { epoch: string; version: number } | null {
  const match = /^([0-9a-f]{1,64})-(\d{1,16})$/.exec(text.trim());
  if (match === null) return null;
  const version = Number(match[2]);
  return Number.isSafeInteger(version) ? { epoch: match[1] as string, version } : null;
}

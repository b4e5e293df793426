import { invalidField } from '../core/errors.js';
import type { Metadata } from '../core/types.js';
import { MAX_METADATA_BYTES } from './schemas.js';

/** Metadata is stored with every entry, so its size is bounded. */
export function checkMetadataSize(metadata: Metadata | null | undefined, field: string): void {
  if (metadata === null || metadata === undefined) return;
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch {
    // Only nesting deep enough to exhaust the stack gets here: JSON input has no cycles.
    throw invalidField(field, 'is nested too deeply');
  }
  if (Buffer.byteLength(json) > MAX_METADATA_BYTES) {
    throw invalidField(field, `must serialize to at most ${MAX_METADATA_BYTES} bytes of JSON`);
  }
}

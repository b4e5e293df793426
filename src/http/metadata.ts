import { invalidField } from '../core/errors.js';
import type { Metadata } from '../core/types.js';
import { MAX_METADATA_BYTES } from './schemas.js';

/** Metadata is stored with every entry, so its size is bounded. */
export function checkMetadataSize(metadata: Metadata | null | undefined, field: string): void {
  if (metadata === null || metadata === undefined) return;
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
    throw invalidField(field, `must serialize to at most ${MAX_METADATA_BYTES} bytes of JSON`);
  }
}

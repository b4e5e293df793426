/**
 * The differential test of the in-process engine: MemoryIndex against the
 * plain model, through the RankIndex port (test/conformance/index-differential.ts).
 */
import { MemoryIndex } from '../src/index/memory.js';
import { indexDifferential } from './conformance/index-differential.js';

indexDifferential('MemoryIndex', async () => new MemoryIndex());

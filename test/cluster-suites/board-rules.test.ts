// The board-rules suite (shared ranks, fixed-point scores) against a two-member cluster behind a round-robin proxy (test/helpers/server.ts).
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the board-rules suite in cluster mode')) === false) await import('../board-rules.test.js');

// The player tokens suite in cluster mode (test/helpers/server.ts).
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the player tokens suite in cluster mode')) === false) await import('../player-tokens.test.js');

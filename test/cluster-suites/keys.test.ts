// The board-limited keys suite in cluster mode (test/helpers/server.ts).
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the board-limited keys suite in cluster mode')) === false) await import('../keys.test.js');

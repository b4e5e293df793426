// The auth matrix in cluster mode (test/helpers/server.ts).
import { skipWithoutCluster } from '../helpers/cluster.js';

process.env.LADDER_TEST_CLUSTER = '1';
if ((await skipWithoutCluster('the auth matrix in cluster mode')) === false) await import('../auth-matrix.test.js');

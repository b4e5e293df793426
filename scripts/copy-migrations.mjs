// tsc compiles only TypeScript; the store's .sql migrations and the Redis
// index's .lua scripts are copied beside the compiled code.
import { cpSync } from 'node:fs';

cpSync('src/store/migrations', 'dist/store/migrations', { recursive: true });
cpSync('src/index/lua', 'dist/index/lua', { recursive: true });

// tsc compiles only TypeScript; the store's .sql migrations are copied beside the compiled code.
import { cpSync } from 'node:fs';

cpSync('src/store/migrations', 'dist/store/migrations', { recursive: true });

/** The README documents every configuration variable and every error code. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { configSchema } from '../src/core/config.js';
import { ErrorCodes } from '../src/core/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

it('documents every LADDER_* variable', () => {
  for (const option of Object.values(configSchema)) assert.ok(readme.includes(`\`${option.env}\``), option.env);
});

it('documents every error code', () => {
  for (const code of Object.keys(ErrorCodes)) assert.ok(readme.includes(`\`${code}\``), code);
});

it('opens with the two commands', () => {
  const top = readme.slice(0, 1200);
  assert.match(top, /npm install && npm start/);
  assert.match(top, /npm test/);
});

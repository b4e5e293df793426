/** The README opens with the two commands, and its generated tables are up to date. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { renderReadme } from '../scripts/readme-tables.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

it('has up-to-date configuration and error tables (npm run docs)', () => {
  assert.equal(readme, renderReadme(readme));
});

it('opens with the two commands', () => {
  const top = readme.slice(0, 1200);
  assert.match(top, /npm install && npm start/);
  assert.match(top, /npm test/);
});

/**
 * The OpenAPI description: valid OpenAPI 3 by @readme/openapi-parser, holding
 * every API route the server registered and every error code, and the docs
 * page at /docs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { validate, compileErrors } from '@readme/openapi-parser';
import { ErrorCodes } from '../src/core/errors.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('OpenAPI', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('is valid OpenAPI 3 with every API route and every error code', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    assert.equal(response.status, 200);
    const spec = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: { Error: any } } }; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
    assert.match(spec.openapi, /^3\./);
    const result = await validate(structuredClone(spec) as never);
    assert.equal(result.valid, true, result.valid ? '' : compileErrors(result));

    // Every route declared in src/http (app.get('/path', ...) and the like), in OpenAPI's {param} form.
    const routes: string[] = [];
    const dir = new URL('../src/http/', import.meta.url);
    for (const file of readdirSync(dir)) {
      for (const [, method, url] of readFileSync(new URL(file, dir), 'utf8').matchAll(/app\.(get|post|put|patch|delete)(?:<[\s\S]*?>)?\(\s*'(\/[^']*)'/g)) {
        if (/^\/(?:$|assets\/|docs|openapi\.json)/.test(url!)) continue;
        routes.push(`${method!.toUpperCase()} ${url!.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
    assert.ok(routes.length > 20, `found ${routes.length} routes`);
    for (const route of routes) {
      const [method, path] = route.split(' ') as [string, string];
      assert.ok(spec.paths[path]?.[method.toLowerCase()] !== undefined, `${route} is in the spec`);
    }
    assert.deepEqual(spec.components.schemas.Error.properties.error.properties.code.enum, Object.keys(ErrorCodes));
  });

  it('serves interactive docs at /docs', async () => {
    const response = await fetch(`${server.url}/docs/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await response.text(), /swagger/i);
  });
});

/**
 * Export and import through the front door: GET /v1/leaderboards/{id}/export
 * (CSV and NDJSON, checked field by field; its errors; a board of 1,000,000
 * entries streamed in order with the server's memory bounded) and the real
 * `ladder import` CLI as a child process. test/cluster-suites/export.test.ts
 * runs the same against a two-member cluster.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { csvField, parseCsvRecord } from '../src/core/csv.js';
import { LadderError } from '../src/core/errors.js';
import { detectImportFormat, ImportReader, MAX_RECORD_LENGTH, textLines, type ImportRecord } from '../src/core/import-records.js';
import type { SubmissionInput } from '../src/core/submission.js';
import { rankingPages } from '../src/service/export.js';
import { runCli } from './helpers/process.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

const cluster = process.env.LADDER_TEST_CLUSTER === '1';
// In cluster mode every entry goes through a Lua script into Redis and its stream, the persister copies
// them into PostgreSQL, and the export reads 1000 entries per script call (about 12 µs of Redis time
// per entry), all on the same two cores: 1M entries would take minutes there, 100,000 take seconds.
const LARGE = cluster ? 100_000 : 1_000_000;
// Growth of the live memory allowed while an export streams. The 1M-entry export is about 50 MB, three
// times as much; cluster mode's 100,000 entries make 5 MB, so there the bound shows only that memory
// does not run away (the stream is the same code; only its page source differs).
const MEMORY_BOUND = 16e6;

describe('CSV and import records', () => {
  it('quotes a field only when it needs to, and parses it back', () => {
    for (const value of ['plain', '', 'a,b', 'say "hi"', 'two\nlines', '{"a":[1,2]}']) {
      assert.deepEqual(parseCsvRecord(`x,${csvField(value)},y`), ['x', value, 'y'], value);
    }
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('{"a":1}'), '"{""a"":1}"');
    assert.deepEqual(parseCsvRecord('a,,'), ['a', '', '']);
    assert.equal(parseCsvRecord('"open'), null);
    assert.equal(parseCsvRecord('"a"b,c'), null);
  });

  it('reads records across lines (pretty-printed metadata), skips blank lines and a BOM, and numbers them by their first line', async () => {
    const text = '\uFEFFparticipant_id,score,metadata\r\n\r\nann,5,"{\r\n  ""note"": ""a, b""\r\n}"\r\nbob,x,\r\ncid,7,"{}';
    const bytes = new TextEncoder().encode(text);
    // Split mid-character and mid-line: lines are whole whatever the chunks.
    const chunks = (async function* () {
      for (let at = 0; at < bytes.length; at += 7) yield bytes.subarray(at, at + 7);
    })();
    const reader = new ImportReader(detectImportFormat('scores.txt', 'participant_id,score'), 'f');
    const records = [];
    let line = 0;
    for await (const text of textLines(chunks)) {
      const record = reader.line(text, ++line);
      if (record !== null) records.push(record);
    }
    records.push(reader.end());
    assert.deepEqual(
      records.map((r) => (r === null ? null : 'input' in r ? { line: r.line, ...r.input } : { line: r.line, code: r.error.code, message: r.error.message })),
      [
        { line: 3, participantId: 'ann', score: 5, timestamp: null, eventId: 'import:f:3', metadata: { note: 'a, b' } },
        { line: 6, code: 'invalid_score', message: 'score must be an integer within ±(2^53−1)' },
        { line: 7, code: 'invalid_request', message: 'a quoted field opened on this line is not closed before the end of the file' },
      ],
    );
    assert.equal(detectImportFormat('scores.jsonl', 'participant_id'), 'ndjson');
    assert.equal(detectImportFormat('scores', '  {"participant_id":"a"}'), 'ndjson');
  });

  it('bounds a record at 64 KiB: a longer line, or a quoted field that runs on, fails alone', async () => {
    const long = 'x'.repeat(MAX_RECORD_LENGTH + 10);
    const ndjson = [`{"participant_id":"a","score":1,"metadata":{"n":"${long}"}}`, '{"participant_id":"b","score":2}'].join('\n');
    assert.deepEqual(await readAll('ndjson', ndjson), ['1: invalid_request: the line is longer than 65536 characters', '2: b']);
    const filler = Array.from({ length: 2000 }, () => 'y'.repeat(40));
    const csv = ['participant_id,score,metadata', 'a,1,"{""n"":""open', ...filler, 'closed""}"', 'b,2,', 'c,3,"{""n"":""never closed'].join('\n');
    assert.deepEqual(await readAll('csv', csv), [
      '2: invalid_request: the record on lines 2 to 2003 is longer than 65536 characters',
      '2004: b',
      '2005: invalid_request: a quoted field opened on this line is not closed before the end of the file',
    ]);
  });
});

/** Every record of a text as `<line>: <participant>` or `<line>: <code>: <message>`. */
async function readAll(format: 'csv' | 'ndjson', text: string): Promise<string[]> {
  const reader = new ImportReader(format, null);
  const bytes = new TextEncoder().encode(text);
  const out: string[] = [];
  let line = 0;
  const show = (r: ImportRecord | null) => {
    if (r !== null) out.push('input' in r ? `${r.line}: ${r.input.participantId}` : `${r.line}: ${r.error.code}: ${r.error.message}`);
  };
  const chunks = (async function* () {
    yield bytes;
  })();
  for await (const text of textLines(chunks)) show(reader.line(text, ++line));
  show(reader.end());
  return out;
}

describe('export and import', () => {
  let server: TestServer;
  let key: string;
  let dir: string;

  before(async () => {
    server = await startServer();
    key = server.adminKey;
    dir = mkdtempSync(join(tmpdir(), 'ladder-export-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function createBoard(body: Record<string, unknown> = {}): Promise<string> {
    const id = boardId('x');
    const res = await api(server, 'POST', '/v1/leaderboards', { key, body: { id, sort_order: 'desc', operator: 'best', ...body } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return id;
  }

  async function submit(id: string, body: Record<string, unknown>): Promise<void> {
    const res = await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function exported(id: string, format: string, withKey: string | null = key): Promise<{ status: number; headers: Headers; text: string }> {
    const response = await fetch(`${server.url}/v1/leaderboards/${id}/export?format=${format}`, {
      headers: withKey === null ? {} : { authorization: `Bearer ${withKey}` },
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  /** The ranking as the rankings endpoint answers it, all of it. */
  async function rankings(id: string): Promise<unknown[]> {
    const res = await api(server, 'GET', `/v1/leaderboards/${id}/rankings?limit=1000`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.entries;
  }

  describe('export', () => {
    let small: string;

    before(async () => {
      small = await createBoard();
      await submit(small, { participant_id: 'alice', score: 300, timestamp: 1000, metadata: { team: 'red, "blue"', n: 1 } });
      await submit(small, { participant_id: 'bob', score: 500, timestamp: 2000 });
      await submit(small, { participant_id: 'carol', score: 300, timestamp: 500 });
      // Worse than alice's best: her score and achieved_at stay, her updated_at moves on.
      await submit(small, { participant_id: 'alice', score: 100, timestamp: 3000 });
    });

    it('streams CSV with a header line, the metadata as one quoted JSON field', async () => {
      const res = await exported(small, 'csv');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="${small}.csv"`);
      const board = await api(server, 'GET', `/v1/leaderboards/${small}`);
      assert.equal(res.headers.get('ladder-epoch'), board.body.epoch);
      assert.equal(res.headers.get('ladder-version'), String(board.body.version));
      assert.equal(res.headers.get('ladder-total'), '3');
      assert.equal(
        res.text,
        'rank,participant_id,score,achieved_at,updated_at,metadata\n' +
          '1,bob,500,2000,2000,\n' +
          '2,carol,300,500,500,\n' +
          '3,alice,300,1000,3000,"{""team"":""red, \\""blue\\"""",""n"":1}"\n',
      );
    });

    it('streams NDJSON, one entry a line with every field', async () => {
      const res = await exported(small, 'ndjson');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="${small}.ndjson"`);
      const lines = res.text.split('\n');
      assert.equal(lines.pop(), '', 'the last line ends with a line break');
      assert.deepEqual(
        lines.map((line) => JSON.parse(line)),
        [
          { rank: 1, participant_id: 'bob', score: 500, achieved_at: 2000, updated_at: 2000, metadata: null },
          { rank: 2, participant_id: 'carol', score: 300, achieved_at: 500, updated_at: 500, metadata: null },
          { rank: 3, participant_id: 'alice', score: 300, achieved_at: 1000, updated_at: 3000, metadata: { team: 'red, "blue"', n: 1 } },
        ],
      );
    });

    it('exports an empty board as the header alone, and CSV by default', async () => {
      const id = await createBoard();
      const response = await fetch(`${server.url}/v1/leaderboards/${id}/export`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(response.headers.get('content-type'), 'text/csv; charset=utf-8');
      assert.equal(await response.text(), 'rank,participant_id,score,achieved_at,updated_at,metadata\n');
      assert.equal((await exported(id, 'ndjson')).text, '');
    });

    it('answers 404 for an unknown board, 400 naming the format, 401 without a key and 403 without admin scope', async () => {
      const unknown = await exported('no-such-board', 'csv');
      assert.equal(unknown.status, 404);
      assert.equal(JSON.parse(unknown.text).error.code, 'board_not_found');

      const badFormat = await exported(small, 'xml');
      assert.equal(badFormat.status, 400);
      assert.deepEqual(JSON.parse(badFormat.text).error, {
        code: 'invalid_request',
        message: 'format must be one of "csv", "ndjson"',
        details: { field: 'format' },
      });

      const missing = await exported(small, 'csv', null);
      assert.equal(missing.status, 401);
      assert.equal(JSON.parse(missing.text).error.code, 'missing_api_key');
      const writeKey = (await api(server, 'POST', '/v1/keys', { key, body: { scope: 'write' } })).body.key as string;
      const forbidden = await exported(small, 'csv', writeKey);
      assert.equal(forbidden.status, 403);
      assert.equal(JSON.parse(forbidden.text).error.code, 'forbidden');
    });

    it('keeps ranks 1..n in order when a score lands between two pages, and stops when the epoch changes', async () => {
      const id = await createBoard();
      for (let i = 0; i < 9; i++) await submit(id, { participant_id: `p${i}`, score: i * 10, timestamp: 1000 });
      const entries: { rank: number; participantId: string }[] = [];
      for await (const page of rankingPages(server.ladder, id, undefined, 3)) {
        entries.push(...page.entries);
        // A new leader after the first page: the entry at the boundary moves down into the next page.
        if (entries.length === 3) await submit(id, { participant_id: 'top', score: 1000, timestamp: 1000 });
      }
      assert.deepEqual(
        entries.map((e) => `${e.rank}:${e.participantId}`),
        ['1:p8', '2:p7', '3:p6', '4:p6', '5:p5', '6:p4', '7:p3', '8:p2', '9:p1', '10:p0'],
        'what the service documents: p6 twice, the newcomer above the boundary missing, ranks consecutive',
      );

      const pages = rankingPages(server.ladder, id, undefined, 3)[Symbol.asyncIterator]();
      assert.equal((await pages.next()).value?.entries.length, 3);
      await server.ladder.deleteBoard(id);
      await server.ladder.createBoard({ id, sortOrder: 'desc', operator: 'best' });
      await submit(id, { participant_id: 'new', score: 1, timestamp: 1000 });
      await assert.rejects(pages.next(), (err: unknown) => err instanceof LadderError && err.code === 'export_interrupted');
    });

    it(`streams ${LARGE.toLocaleString('en-US')} entries in rank order while the server's memory stays bounded`, { timeout: 600_000 }, async () => {
      const id = await createBoard();
      const started = performance.now();
      await fill(server, id, LARGE);
      const filled = performance.now();
      // Cluster mode: the persister copies the fill to PostgreSQL in batches; the baseline is taken once it is done.
      while (Number(server.ladder.backend.health().persister_lag_events ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, 50));

      const gc = exposeGc();
      const live = () => {
        gc();
        const usage = process.memoryUsage();
        return usage.heapUsed + usage.external;
      };
      const baseline = live();
      const response = await fetch(`${server.url}/v1/leaderboards/${id}/export?format=csv`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(response.status, 200);
      const lines = lineReader(response);
      assert.equal((await lines.next()).value, 'rank,participant_id,score,achieved_at,updated_at,metadata');
      let count = 0;
      let previous = Infinity;
      let peak = 0;
      for await (const line of { [Symbol.asyncIterator]: () => lines }) {
        count += 1;
        const [rank, participant, score] = line.split(',');
        if (Number(rank) !== count) assert.fail(`line ${count + 1} has rank ${rank}`);
        if (!(Number(score) < previous)) assert.fail(`line ${count + 1} (${participant}) has score ${score} after ${previous}`);
        previous = Number(score);
        // Live memory (after a collection) of this process, which runs the server, now and then while it streams.
        if (count % 25_000 === 0) peak = Math.max(peak, live() - baseline);
      }
      assert.equal(count, LARGE);
      const bytes = lines.bytes();
      process.stderr.write(
        `# export of ${count} entries: ${(bytes / 1e6).toFixed(1)} MB, live memory growth at most ${(peak / 1e6).toFixed(1)} MB; ` +
          `fill ${((filled - started) / 1000).toFixed(1)} s, export ${((performance.now() - filled) / 1000).toFixed(1)} s\n`,
      );
      // Holding the export would take its size at least; streaming takes a few pages of it.
      if (!cluster) assert.ok(bytes > 3 * MEMORY_BOUND, `the export is ${bytes} bytes`);
      assert.ok(peak < MEMORY_BOUND, `memory grew by ${(peak / 1e6).toFixed(1)} MB while streaming ${(bytes / 1e6).toFixed(1)} MB`);

      if (!cluster) {
        // Recreated mid-stream, the board's ranks belong to another state: the stream is cut, not ended.
        // (Only with the 1M board: the socket buffers hold a few MB, far less than its ~50 MB, so the
        // server is still reading pages when the board changes. Cluster mode's 100,000 entries could
        // already sit in the buffers.)
        const cut = await fetch(`${server.url}/v1/leaderboards/${id}/export?format=ndjson`, { headers: { authorization: `Bearer ${key}` } });
        const reader = lineReader(cut);
        assert.ok((await reader.next()).value);
        await server.ladder.deleteBoard(id);
        await server.ladder.createBoard({ id, sortOrder: 'desc', operator: 'best' });
        let read = 1;
        await assert.rejects(async () => {
          for await (const _line of { [Symbol.asyncIterator]: () => reader }) read += 1;
        });
        assert.ok(read < LARGE, `${read} lines arrived before the cut`);
      }
      await server.ladder.deleteBoard(id);
    });
  });

  describe('POST /v1/leaderboards/{id}/import', () => {
    async function post(id: string, body: string | ReadableStream<Uint8Array>, contentType: string, query = '', withKey = key) {
      const response = await fetch(`${server.url}/v1/leaderboards/${id}/import${query}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${withKey}`, 'content-type': contentType },
        body,
        duplex: 'half',
      } as RequestInit);
      return { status: response.status, body: await response.json() };
    }

    it('applies a CSV body and lists its failed lines; with a source, sending it again changes nothing', async () => {
      const id = await createBoard({ operator: 'increment' });
      const csv = 'participant_id,score,timestamp,metadata\nalice,10,1000,"{""team"":""red""}"\nbob,20,2000,\ncarol,abc,3000,\nalice,5,4000,\n';
      const first = await post(id, csv, 'text/csv; charset=utf-8', '?source=scores-2026-12');
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(first.body, {
        leaderboard_id: id,
        records: 4,
        accepted: 3,
        failed: 1,
        failures: [{ line: 4, error: { code: 'invalid_score', message: 'score must be an integer within ±(2^53−1)', details: { field: 'score' } } }],
      });
      const entries = await rankings(id);
      assert.deepEqual(entries, [
        { rank: 1, participant_id: 'bob', score: 20, achieved_at: 2000 },
        { rank: 2, participant_id: 'alice', score: 15, achieved_at: 4000, metadata: { team: 'red' } },
      ]);
      const again = await post(id, csv, 'text/csv', '?source=scores-2026-12');
      assert.equal(again.body.accepted, 3);
      assert.deepEqual(await rankings(id), entries);
    });

    it('reads a streamed NDJSON body of 20,000 lines as it arrives', async () => {
      const id = await createBoard();
      const n = 20_000;
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (i === n) return controller.close();
          let text = '';
          for (const end = Math.min(n, i + 500); i < end; i++) text += `${JSON.stringify({ participant_id: `s${i}`, score: i, timestamp: 1000 })}\n`;
          controller.enqueue(new TextEncoder().encode(text));
        },
      });
      const res = await post(id, body, 'application/x-ndjson');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual({ ...res.body, failures: res.body.failures.length }, { leaderboard_id: id, records: n, accepted: n, failed: 0, failures: 0 });
      const board = await api(server, 'GET', `/v1/leaderboards/${id}`);
      assert.equal(board.body.total, n);
      assert.equal(((await rankings(id)) as { participant_id: string }[])[0]!.participant_id, `s${n - 1}`);
    });

    it('refuses other media types, a bad header or source, unknown boards and keys without admin scope', async () => {
      const id = await createBoard();
      const json = await post(id, '{}', 'application/json');
      assert.equal(json.status, 415);
      assert.equal(json.body.error.code, 'unsupported_media_type');
      const header = await post(id, 'participant,score\na,1\n', 'text/csv');
      assert.equal(header.status, 400);
      assert.equal(header.body.error.details.field, 'header');
      const source = await post(id, 'participant_id,score\na,1\n', 'text/csv', '?source=has%20space');
      assert.equal(source.status, 400);
      assert.equal(source.body.error.details.field, 'source');
      assert.equal((await post('no-such-board', 'participant_id,score\na,1\n', 'text/csv')).body.error.code, 'board_not_found');
      const writeKey = (await api(server, 'POST', '/v1/keys', { key, body: { scope: 'write' } })).body.key as string;
      const forbidden = await post(id, 'participant_id,score\na,1\n', 'text/csv', '', writeKey);
      assert.equal(forbidden.status, 403);
      assert.equal(((await api(server, 'GET', `/v1/leaderboards/${id}`)).body as { total: number }).total, 0);
    });
  });

  describe('ladder import', () => {
    function file(name: string, text: string): string {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    }

    async function runImport(id: string, path: string, extra: string[] = [], env: Record<string, string | undefined> = {}) {
      const run = runCli(['import', id, path, '--url', server.url, ...extra], { LADDER_KEY: key, ...env });
      const code = await run.exited;
      return { code, stderr: run.errors() };
    }

    it('imports a CSV file: quoted metadata, given and default event ids, timestamps', async () => {
      const id = await createBoard();
      const path = file(
        'scores.csv',
        'participant_id,score,timestamp,event_id,metadata\r\n' +
          'alice,300,1000,,"{""team"":""red""}"\r\n' +
          'bob,500,2000,match-1-bob,\r\n' +
          'carol,300,500,,\r\n' +
          '\r\n' +
          'dave,200,,,"{""note"":""a, b""}"\r\n',
      );
      const run = await runImport(id, path);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /imported .*scores\.csv \(csv\) into .*: 4 lines, 4 accepted, 0 failed/);
      const entries = (await rankings(id)) as { achieved_at: number }[];
      assert.ok(entries[3]!.achieved_at > 1_000_000_000_000, 'a line without a timestamp takes the server clock');
      assert.deepEqual(
        entries.map((e, i) => (i === 3 ? { ...e, achieved_at: 0 } : e)),
        [
          { rank: 1, participant_id: 'bob', score: 500, achieved_at: 2000 },
          { rank: 2, participant_id: 'carol', score: 300, achieved_at: 500 },
          { rank: 3, participant_id: 'alice', score: 300, achieved_at: 1000, metadata: { team: 'red' } },
          { rank: 4, participant_id: 'dave', score: 200, achieved_at: 0, metadata: { note: 'a, b' } },
        ],
      );
      // bob's line kept its own event id: a submission repeating it changes nothing.
      const version = (await api(server, 'GET', `/v1/leaderboards/${id}`)).body.version;
      const again = await api(server, 'POST', `/v1/leaderboards/${id}/scores`, { key, body: { participant_id: 'bob', score: 500, timestamp: 2000, event_id: 'match-1-bob' } });
      assert.equal(again.status, 200);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}`)).body.version, version);
    });

    it('imports NDJSON onto an increment board, and running it again changes nothing', async () => {
      const id = await createBoard({ operator: 'increment' });
      const lines: string[] = [];
      // 2,500 lines: three batches, several in flight.
      for (let i = 0; i < 2500; i++) lines.push(JSON.stringify({ participant_id: `p${i % 100}`, score: 1 + (i % 7), timestamp: 1000 + i }));
      const path = file('deltas.ndjson', `${lines.join('\n')}\n`);
      const expected = new Map<string, number>();
      for (let i = 0; i < 2500; i++) expected.set(`p${i % 100}`, (expected.get(`p${i % 100}`) ?? 0) + 1 + (i % 7));

      const first = await runImport(id, path);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /\(ndjson\) into .*: 2,500 lines, 2,500 accepted, 0 failed/);
      const before = await api(server, 'GET', `/v1/leaderboards/${id}`);
      const entries = (await rankings(id)) as { participant_id: string; score: number }[];
      assert.equal(entries.length, 100);
      for (const entry of entries) assert.equal(entry.score, expected.get(entry.participant_id), entry.participant_id);

      const second = await runImport(id, path);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(await rankings(id), entries);
      assert.equal((await api(server, 'GET', `/v1/leaderboards/${id}`)).body.version, before.body.version);
    });

    it('reports each bad line with its number, code and message, applies the others, exits 1, and applies the fixed lines alone with --source', async () => {
      const id = await createBoard({ operator: 'increment' });
      const lines = [
        '{"participant_id":"ok1","score":10}',
        '{"participant_id":"bad-score","score":"ten"}',
        '{"participant_id":"ok2","score":20',
        '{"participant_id":"noscore"}',
        '{"participant_id":"extra","score":1,"colour":"red"}',
        '{"participant_id":"ok3","score":30,"rank":9,"updated_at":5}',
        '',
      ];
      const path = file('mixed.txt', lines.join('\n'));
      const run = await runImport(id, path);
      assert.equal(run.code, 1, run.stderr);
      const reported = run.stderr
        .split(/\r|\n/)
        .map((line) => line.replace('\u001b[K', ''))
        .filter((line) => /^line \d+:/.test(line));
      assert.equal(reported.length, 4, run.stderr);
      assert.equal(reported[0], 'line 2: invalid_score: score must be an integer within ±(2^53−1)');
      assert.match(reported[1]!, /^line 3: malformed_json: the line is not valid JSON: /);
      assert.equal(reported[2], 'line 4: invalid_request: score is required');
      assert.equal(
        reported[3],
        'line 5: invalid_request: colour is not a known field; known: participant_id, score, timestamp, achieved_at, event_id, metadata (rank and updated_at are skipped)',
      );
      assert.match(run.stderr, /\(ndjson\) into .*: 6 lines, 2 accepted, 4 failed/);
      assert.deepEqual(
        ((await rankings(id)) as { participant_id: string; score: number }[]).map((e) => `${e.participant_id}=${e.score}`),
        ['ok3=30', 'ok1=10'],
      );

      // Fixed in place, the file has another hash: the source of the first run keeps the other lines' event ids.
      const source = /--source ([0-9a-f]{16})\n/.exec(run.stderr)?.[1];
      assert.ok(source, run.stderr);
      lines[1] = '{"participant_id":"fixed","score":7}';
      writeFileSync(path, lines.join('\n'));
      const fixed = await runImport(id, path, ['--source', source]);
      assert.equal(fixed.code, 1, fixed.stderr);
      assert.match(fixed.stderr, /6 lines, 3 accepted, 3 failed/);
      assert.deepEqual(
        ((await rankings(id)) as { participant_id: string; score: number }[]).map((e) => `${e.participant_id}=${e.score}`),
        ['ok3=30', 'ok1=10', 'fixed=7'],
      );
    });

    it('names the server\'s refusals per line, and stops on a key without write scope', async () => {
      const id = await createBoard({ operator: 'increment' });
      await submit(id, { participant_id: 'big', score: Number.MAX_SAFE_INTEGER - 1, event_id: 'taken' });
      const path = file('server-side.csv', `participant_id,score,event_id\nbig,5,\nsmall,1,taken\nfine,3,\n`);
      const run = await runImport(id, path);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /line 2: score_overflow: /);
      assert.match(run.stderr, /line 3: event_id_conflict: event_id 'taken' was used before with a different submission/);
      assert.match(run.stderr, /3 lines, 1 accepted, 2 failed/);

      const readKey = (await api(server, 'POST', '/v1/keys', { key, body: { scope: 'read' } })).body.key as string;
      const refused = await runImport(id, path, [], { LADDER_KEY: readKey });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /ladder: import stopped: forbidden: .*\(pass a key with write scope: LADDER_KEY or --key\)/);
      const unknown = await runImport('no-such-board', path);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /ladder: import stopped: board_not_found: leaderboard 'no-such-board' does not exist/);
      const noKey = await runImport(id, path, [], { LADDER_KEY: undefined });
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, /import needs an API key with write scope: set LADDER_KEY or pass --key/);
      const badHeader = await runImport(id, file('header.csv', 'participant,score\na,1\n'));
      assert.equal(badHeader.code, 1);
      assert.match(badHeader.stderr, /import stopped: .*header\.csv line 1: invalid_request: header names the unknown column 'participant'/);
    });

    it('imports an export as it is: the same ranking on a new board', async () => {
      const source = await createBoard({ sort_order: 'asc' });
      for (let i = 0; i < 50; i++) {
        await submit(source, { participant_id: `r${i}`, score: 60_000 + ((i * 37) % 50) * 100, timestamp: 5000 + (i % 3), metadata: i % 10 === 0 ? { lap: i, tag: 'x,"y"' } : null });
      }
      for (const format of ['csv', 'ndjson']) {
        const path = file(`export.${format}`, (await exported(source, format)).text);
        const target = await createBoard({ sort_order: 'asc' });
        const run = await runImport(target, path);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(await rankings(target), await rankings(source), format);
      }
    });
  });
});

/** Fills the board with n entries of distinct scores through the service's batch submit, several batches at once. */
async function fill(server: TestServer, id: string, n: number): Promise<void> {
  const batch = 10_000;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const from = next;
      next = Math.min(n, next + batch);
      const inputs: SubmissionInput[] = [];
      for (let i = from; i < next; i++) inputs.push({ participantId: `p${i}`, score: (i * 7919) % 1_000_003, timestamp: 1_700_000_000_000 });
      const results = await server.ladder.submitMany(id, inputs);
      const failed = results.find((result) => result instanceof LadderError);
      if (failed !== undefined) throw failed;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

/** The global gc(), exposed at run time (the test runner starts node without --expose-gc). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** A response body's lines, decoded as they arrive; `bytes()` counts what came. */
function lineReader(response: Response): AsyncIterator<string> & { bytes(): number } {
  const decoder = new TextDecoder();
  const body = response.body![Symbol.asyncIterator]();
  let buffered: string[] = [];
  let at = 0;
  let rest = '';
  let bytes = 0;
  return {
    bytes: () => bytes,
    async next(): Promise<IteratorResult<string>> {
      while (at === buffered.length) {
        const chunk = await body.next();
        if (chunk.done) {
          if (rest === '') return { done: true, value: undefined };
          buffered = [rest];
          rest = '';
        } else {
          bytes += chunk.value.length;
          buffered = (rest + decoder.decode(chunk.value, { stream: true })).split('\n');
          rest = buffered.pop()!;
        }
        at = 0;
      }
      return { done: false, value: buffered[at++]! };
    },
  };
}

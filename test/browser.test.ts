/**
 * The dashboard: how the server serves it, and how it behaves in a real
 * browser (Debian's Chromium through playwright-core; nothing is downloaded):
 * against the real server, scores submitted through the API must show up and
 * move in the DOM, at desktop and at phone width; without a board in the URL
 * it opens the busiest one, and the list's counts stay live. Also renders a
 * screenshot from a running demo into test/artifacts/, or into the README's
 * docs/dashboard.png with LADDER_REFRESH_SCREENSHOT=1. Boards in time (status,
 * countdowns, periods) are in browser-periods.test.ts.
 *
 * Without /usr/bin/chromium the browser part fails on CI and is skipped,
 * loudly, elsewhere (helpers/browser.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { LadderClient } from '../src/client/index.js';
import { runDemo } from '../src/demo/index.js';
import { launchChromium, skipWithoutChromium } from './helpers/browser.js';
import { boardId, startServer, type TestServer } from './helpers/server.js';

/** Whether this run may replace the README's screenshot; otherwise it goes to test/artifacts/ (ignored by git). */
const refreshScreenshot = process.env.LADDER_REFRESH_SCREENSHOT === '1';
const readmeScreenshot = 'docs/dashboard.png';

// The tests check the sources, so they bundle them first (what `npm run build` does for this part).
before(() => {
  execFileSync(process.execPath, ['scripts/build-dashboard.mjs'], { stdio: 'ignore' });
});

describe('dashboard route', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });
  after(async () => server.close());

  it('serves the page uncached and its content-hashed assets cached for good', async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((match) => match[1]!);
    assert.deepEqual(assets.map((path) => path.replace(/-[A-Z0-9]+\./, '.')), ['assets/styles.css', 'assets/app.js']);
    for (const [path, type] of [[assets[0]!, 'text/css; charset=utf-8'], [assets[1]!, 'text/javascript; charset=utf-8']]) {
      const asset = await fetch(`${server.url}/${path}`);
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('content-type'), type);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const again = await fetch(`${server.url}/${path}`, { headers: { 'if-none-match': asset.headers.get('etag')! } });
      assert.equal(again.status, 304);
    }
  });

  it('answers 404 for unknown assets and for paths that try to leave the assets directory', async () => {
    for (const path of ['/assets/nothing-here.js', '/assets/..%2F..%2Fpackage.json', '/assets/.hidden', '/assets/%2E%2E%2Fserver.js']) {
      const answer = await fetch(`${server.url}${path}`);
      assert.equal(answer.status, 404, path);
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'route_not_found', path);
    }
  });
});

describe('dashboard in Chromium', { skip: skipWithoutChromium() }, () => {
  let server: TestServer;
  let admin: LadderClient;
  let browser: Browser;
  const pageErrors: string[] = [];

  before(async () => {
    server = await startServer();
    admin = new LadderClient({ baseUrl: server.url, apiKey: server.adminKey });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openPage(path: string, viewport = { width: 1280, height: 900 }, baseUrl = server.url): Promise<Page> {
    const page = await browser.newPage({ viewport, colorScheme: 'dark' });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${baseUrl}${path}`);
    return page;
  }

  function rowIds(page: Page, list: string): Promise<string[]> {
    return page.$$eval(`${list} .row`, (rows) => rows.map((row) => (row as HTMLElement).dataset.pid ?? ''));
  }

  async function createBoard(name: string, scores: [string, number][]): Promise<string> {
    const id = boardId('dash');
    await admin.createBoard({ id, name, sort_order: 'desc', operator: 'best' });
    await admin.submitScores(id, scores.map(([participant_id, score]) => ({ participant_id, score })));
    return id;
  }

  it('shows a board live: rows appear, move up and down, and newcomers are marked', async () => {
    const id = await createBoard('Browser arena', [['ann', 500], ['bob', 400], ['cat', 300], ['dan', 200], ['eve', 100]]);
    const page = await openPage(`/#/board/${id}`);
    await page.waitForFunction(() => document.querySelectorAll('#top-rows .row').length === 5);
    assert.deepEqual(await rowIds(page, '#top-rows'), ['ann', 'bob', 'cat', 'dan', 'eve']);
    assert.equal(await page.textContent('#board-name'), 'Browser arena');
    await page.waitForFunction(() => document.querySelector('.connection-label')?.textContent === 'Live · WebSocket');
    assert.equal(await page.getAttribute(`.board-link[href="#/board/${id}"]`, 'aria-current'), 'page');

    await admin.submitScore(id, { participant_id: 'eve', score: 1000 });
    await page.waitForSelector('#top-rows .row[data-pid="eve"][data-rank="1"][data-move="up"]');
    assert.equal(await page.textContent('#top-rows .row[data-pid="eve"] .move'), '▲ 4');
    assert.deepEqual(await rowIds(page, '#top-rows'), ['eve', 'ann', 'bob', 'cat', 'dan']);
    // Passed by eve without scoring themselves: a quiet marker.
    assert.equal(await page.getAttribute('#top-rows .row[data-pid="ann"]', 'data-move'), 'down');
    assert.equal(await page.getAttribute('#top-rows .row[data-pid="ann"]', 'data-passive'), '');

    await admin.submitScore(id, { participant_id: 'fay', score: 450 });
    await page.waitForSelector('#top-rows .row[data-pid="fay"][data-rank="3"][data-move="new"]');
    assert.equal(await page.textContent('#top-rows .row[data-pid="fay"] .move'), 'NEW');
    assert.equal(await page.textContent('#top-rows .row[data-pid="fay"] .score'), '450');

    const { version, total } = await admin.getBoard(id);
    await page.waitForFunction((v) => document.getElementById('stat-version')?.textContent === v, String(version));
    assert.equal(await page.textContent('#stat-total'), String(total));
    await page.close();
  });

  it('tracks a participant and their neighbours as they move', async () => {
    const scores = Array.from({ length: 20 }, (_, i): [string, number] => [`p${i}`, 1000 - i * 10]);
    const id = await createBoard('Browser tracking', scores);
    const page = await openPage(`/#/board/${id}`);
    await page.waitForFunction(() => document.querySelectorAll('#top-rows .row').length === 20);
    await page.fill('#track-input', 'p10');
    await page.press('#track-input', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#around-rows .row').length === 9);
    assert.deepEqual(await rowIds(page, '#around-rows'), ['p6', 'p7', 'p8', 'p9', 'p10', 'p11', 'p12', 'p13', 'p14']);
    assert.ok(await page.isVisible('#around-rows .row[data-pid="p10"].tracked-row'));
    assert.ok(await page.isVisible('#top-rows .row[data-pid="p10"].tracked-row'));
    assert.match((await page.textContent('#tracked-summary')) ?? '', /^#11 of 20/);
    assert.match(page.url(), /#\/board\/.+\/track\/p10$/);

    await admin.submitScore(id, { participant_id: 'p10', score: 995 });
    await page.waitForFunction(() => document.getElementById('tracked-summary')?.textContent?.startsWith('#2 of 20'));
    // Near the top the window shifts down and stays full (README "Windows"): ranks 1–9, not 1–6.
    assert.deepEqual(await rowIds(page, '#around-rows'), ['p0', 'p10', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);

    await page.click('#untrack');
    await page.waitForSelector('#tracked', { state: 'hidden' });
    await page.close();
  });

  it('fits a 375 px phone screen', async () => {
    const scores = Array.from({ length: 12 }, (_, i): [string, number] => [`a-rather-long-participant-name-${i}`, 123_456_789 - i]);
    const id = await createBoard('A board with a long name for a small phone', scores);
    const page = await openPage(`/#/board/${id}`, { width: 375, height: 812 });
    await page.waitForFunction(() => document.querySelectorAll('#top-rows .row').length === 12);
    await admin.submitScore(id, { participant_id: 'a-rather-long-participant-name-11', score: 200_000_000 });
    await page.waitForSelector('#top-rows .row[data-rank="1"][data-move="up"]');
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 375, 'no horizontal scrolling');
    const overflowing = await page.$$eval('#top-rows .row .score, #top-rows .row .rank, .stat, #track-input', (elements) =>
      elements.filter((element) => element.getBoundingClientRect().right > window.innerWidth).length,
    );
    assert.equal(overflowing, 0);
    assert.equal(await page.textContent('#top-rows .row[data-rank="1"] .score'), '200,000,000');
    await page.waitForTimeout(1000);
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/dashboard-phone.png' });
    await page.close();
  });

  it('opens on the busiest board without a click, and keeps the counts of the other boards live', async () => {
    // A server of its own, so that only these boards are listed.
    const lively = await startServer();
    const owner = new LadderClient({ baseUrl: lively.url, apiKey: lively.adminKey });
    let playing = true;
    let busy: Promise<void> = Promise.resolve();
    let page: Page | undefined;
    try {
      const board = (id: string, name: string) => owner.createBoard({ id, name, sort_order: 'desc', operator: 'best' });
      // The most played board, idle now: the fallback, which must lose to the busy one.
      await board('veteran', 'Veteran');
      await owner.submitScores('veteran', Array.from({ length: 300 }, (_, i) => ({ participant_id: `v${i}`, score: i })));
      await board('busy', 'Busy');
      await board('quiet', 'Quiet');
      await owner.submitScore('quiet', { participant_id: 'q0', score: 1 });
      busy = (async () => {
        for (let i = 1; playing; i++) {
          await owner.submitScore('busy', { participant_id: `b${i % 20}`, score: i });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();

      page = await openPage('/', { width: 1280, height: 900 }, lively.url);
      await page.waitForFunction(() => document.getElementById('board-name')?.textContent === 'Busy');
      assert.match(page.url(), /#\/board\/busy$/);
      assert.equal(await page.getAttribute('.board-link[data-board="busy"]', 'aria-current'), 'page');
      assert.ok(await page.isHidden('#welcome'));
      await page.waitForSelector('#top-rows .row');

      // Scores on a board that is not open: its entry count and version in the list follow them, with no click.
      const quiet = '.board-link[data-board="quiet"]';
      assert.equal(await page.textContent(`${quiet} .board-link-total`), '1');
      await owner.submitScores('quiet', Array.from({ length: 4 }, (_, i) => ({ participant_id: `q${i + 1}`, score: 10 + i })));
      const { total, version } = await owner.getBoard('quiet');
      assert.deepEqual([total, version], [5, 5]);
      await page.waitForFunction(
        ([selector, expected]) => document.querySelector(`${selector} .board-link-total`)?.textContent === expected,
        [quiet, String(total)] as const,
      );
      assert.equal(await page.textContent(`${quiet} .board-link-version`), `v${version}`);
      assert.equal(await page.getAttribute(quiet, 'aria-current'), null);
      assert.equal(await page.textContent('#board-name'), 'Busy', 'the open board stays');
    } finally {
      // Closed before its server, so that it logs no failed requests.
      await page?.close();
      playing = false;
      await busy;
      await lively.close();
    }
  });

  it('asks for a key when reads need one, and then works with it', async () => {
    const guarded = await startServer({ readAuth: true });
    try {
      const owner = new LadderClient({ baseUrl: guarded.url, apiKey: guarded.adminKey });
      const id = boardId('guarded');
      await owner.createBoard({ id, name: 'Members only', sort_order: 'desc', operator: 'best' });
      await owner.submitScore(id, { participant_id: 'vip', score: 7 });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${guarded.url}/#/board/${id}`);
      await page.waitForSelector('#key-form', { state: 'visible' });
      await page.fill('#key-input', guarded.adminKey);
      await page.press('#key-input', 'Enter');
      await page.waitForSelector('#top-rows .row[data-pid="vip"]');
      await page.waitForSelector('#key-form', { state: 'hidden' });
      assert.equal(await page.textContent('#board-name'), 'Members only');
      await page.close();
    } finally {
      await guarded.close();
    }
  });

  it(`renders the dashboard of a running demo into ${refreshScreenshot ? readmeScreenshot : 'test/artifacts/'}`, async () => {
    const readmeBefore = existsSync(readmeScreenshot) ? readFileSync(readmeScreenshot) : null;
    // A server of its own, so that only the demo's boards are listed.
    const showcase = await startServer();
    const demo = await runDemo({ baseUrl: showcase.url, adminKey: showcase.adminKey, rate: 60, participants: 300 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const reader = new LadderClient({ baseUrl: showcase.url });
      const [tracked] = (await reader.getRankings('arena', { offset: 24, limit: 1 })).entries;
      assert.ok(tracked !== undefined);
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${showcase.url}/#/board/arena/track/${tracked.participant_id}`);
      await page.waitForFunction(() => document.querySelectorAll('#top-rows .row').length === 50);
      await page.waitForSelector('#around-rows .row.tracked-row');
      // Long enough for movement markers and a rate sparkline to show.
      await page.waitForTimeout(8000);
      assert.notEqual(await page.textContent('#stat-rate'), '0.0');
      // Stopped, and the rows given time to finish sliding, so the picture catches none halfway.
      await demo.stop();
      await page.waitForTimeout(600);
      mkdirSync('test/artifacts', { recursive: true });
      await page.screenshot({ path: refreshScreenshot ? readmeScreenshot : 'test/artifacts/dashboard.png' });
      await page.close();
      if (!refreshScreenshot) {
        assert.ok(existsSync('test/artifacts/dashboard.png'));
        // The tracked picture changes only when asked, so that a test run leaves the working tree clean.
        assert.deepEqual(existsSync(readmeScreenshot) ? readFileSync(readmeScreenshot) : null, readmeBefore, `${readmeScreenshot} was rewritten`);
      }
    } finally {
      await demo.stop();
      await showcase.close();
    }
  });

  it('logged no errors in any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});

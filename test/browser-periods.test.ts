/**
 * The dashboard and boards in time, in a real browser (helpers/browser.ts):
 * a board's status and countdown, the rollover of a period while the page
 * watches (notice with the winner, emptied live ranking, new period and
 * countdown), the picker of closed periods with their final rankings, and a
 * board closed for good. The server runs on a ManualClock, so no test waits
 * for a period to pass: the test sets the clock past the end and runs the
 * lifecycle's due closes. The page counts down by the server's clock (the
 * server_time of board answers), not the browser's; as the test's clock
 * stands still, the page's countdowns are checked against it, with slack
 * for the moment since the page's last read.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { LadderClient } from '../src/client/index.js';
import { ManualClock } from '../src/service/clock.js';
import { launchChromium, skipWithoutChromium } from './helpers/browser.js';
import { api, boardId, startServer, type TestServer } from './helpers/server.js';

// The tests check the sources, so they bundle them first (what `npm run build` does for this part).
before(() => {
  execFileSync(process.execPath, ['scripts/build-dashboard.mjs'], { stdio: 'ignore' });
});

describe('dashboard and boards in time, in Chromium', { skip: skipWithoutChromium() }, () => {
  // Even seconds since the epoch are the boundaries of the */2 cron; 100 ms into a period, 1.9 s are left of it.
  const clock = new ManualClock(Math.floor(Date.now() / 2000) * 2000 + 100);
  let server: TestServer;
  let admin: LadderClient;
  let browser: Browser;
  const pageErrors: string[] = [];

  before(async () => {
    server = await startServer({}, { clock });
    admin = new LadderClient({ baseUrl: server.url, apiKey: server.adminKey });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openPage(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${server.url}${path}`);
    return page;
  }

  function rowIds(page: Page, list: string): Promise<string[]> {
    return page.$$eval(`${list} .row`, (rows) => rows.map((row) => (row as HTMLElement).dataset.pid ?? ''));
  }

  function textMatches(page: Page, selector: string, pattern: RegExp): Promise<unknown> {
    return page.waitForFunction(
      ([selector, source]) => new RegExp(source).test(document.querySelector(selector)?.textContent ?? ''),
      [selector, pattern.source] as const,
    );
  }

  function textIs(page: Page, selector: string, text: string): Promise<unknown> {
    return page.waitForFunction(([selector, text]) => document.querySelector(selector)?.textContent === text, [selector, text] as const);
  }

  it('counts down to the reset, announces the rollover with its winner, empties the live top, and shows the closed period from the picker', async () => {
    const id = boardId('cron');
    const board = await admin.createBoard({ id, name: 'Every two seconds', sort_order: 'desc', operator: 'best', reset: { cron: '*/2 * * * * *' } });
    assert.equal(board.status, 'active');
    assert.equal(board.server_time, clock.now(), 'board answers carry the server clock');
    const first = board.period!;
    assert.equal(board.next_reset_at, clock.now() + 1900);
    await admin.submitScores(id, [
      { participant_id: 'ann', score: 500 },
      { participant_id: 'bob', score: 300 },
      { participant_id: 'cat', score: 100 },
    ]);

    const page = await openPage(`/#/board/${id}`);
    await page.waitForFunction(() => document.querySelectorAll('#top-rows .row').length === 3);
    assert.equal(await page.textContent('#board-status'), 'Active');
    assert.equal(await page.getAttribute('#board-status', 'data-status'), 'active');
    assert.equal(await page.textContent('#board-period'), `Period ${first}`);
    assert.match((await page.textContent('#board-meta')) ?? '', /resets on cron \*\/2 \* \* \* \* \*/);
    assert.equal(await page.getAttribute('#board-countdown', 'data-until'), String(board.next_reset_at));
    // The server's clock stands still, the browser's runs: each read of the board (every second) sets the page's clock back.
    await textMatches(page, '#board-countdown', /^resets in [12]s$/);
    await textMatches(page, `.board-link[data-board="${id}"] .board-link-status`, /^Active · resets in [12]s$/);
    assert.ok(await page.isVisible('#period-picker'));
    assert.equal(await page.$eval('#period-select', (select) => (select as HTMLSelectElement).selectedOptions[0]?.text), `Live · ${first}`);

    clock.set(board.next_reset_at! + 100);
    await server.ladder.lifecycle.runDue();
    const next = (await server.ladder.getBoard(id)).period!;
    assert.notEqual(next.id, first);

    await textIs(page, '#rollover-text', `Period ${first} closed — winner: ann with 500`);
    assert.ok(await page.isVisible('#rollover'));
    await page.waitForSelector('#top-empty', { state: 'visible' });
    assert.deepEqual(await rowIds(page, '#top-rows'), []);
    await textIs(page, '#board-period', `Period ${next.id}`);
    await page.waitForFunction((until) => document.getElementById('board-countdown')?.dataset.until === until, String(next.end));
    await textMatches(page, '#board-countdown', /^resets in [12]s$/);

    // The closed period is in the picker, with its winner; picking it shows its final ranking, not live.
    const option = `#period-select option[value="${first}"]`;
    await page.waitForSelector(option, { state: 'attached' });
    assert.equal(await page.textContent(option), `${first} · won by ann`);
    await page.selectOption('#period-select', first);
    await page.waitForSelector('#archive', { state: 'visible' });
    assert.ok(await page.isHidden('#top-panel'));
    await page.waitForFunction(() => document.querySelectorAll('#archive-rows .row').length === 3);
    assert.deepEqual(await rowIds(page, '#archive-rows'), ['ann', 'bob', 'cat']);
    assert.equal(await page.textContent('#archive-period'), first);
    assert.match((await page.textContent('#archive-summary')) ?? '', /^Won by ann with 500 · 3 entries · /);
    assert.equal(new URL(page.url()).hash, `#/board/${id}/period/${encodeURIComponent(first)}`);

    // Back to live, where a score of the new period shows up as it comes.
    await page.click('#back-to-live');
    await page.waitForSelector('#archive', { state: 'hidden' });
    assert.ok(await page.isVisible('#top-panel'));
    assert.equal(await page.$eval('#period-select', (select) => (select as HTMLSelectElement).value), '');
    await admin.submitScore(id, { participant_id: 'dan', score: 42 });
    await page.waitForSelector('#top-rows .row[data-pid="dan"][data-rank="1"]');

    // The notice links to the closed period too.
    await page.click('#rollover-link');
    await page.waitForFunction(() => document.querySelectorAll('#archive-rows .row').length === 3);
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/dashboard-period.png' });
    // At phone width the status line, the picker and the notice fit, with no sideways scrolling.
    await page.setViewportSize({ width: 375, height: 812 });
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 375);
    const overflowing = await page.$$eval('#rollover, #period-picker, .board-schedule, #archive-rows .row .score', (elements) =>
      elements.filter((element) => element.getBoundingClientRect().right > window.innerWidth).length,
    );
    assert.equal(overflowing, 0);
    await page.screenshot({ path: 'test/artifacts/dashboard-period-phone.png' });
    await page.click('#rollover-dismiss');
    await page.waitForSelector('#rollover', { state: 'hidden' });
    await page.close();
  });

  it("counts down to a scheduled board's start, by the server's clock", async () => {
    const id = boardId('later');
    const startsAt = clock.now() + ((3 * 24 + 4) * 60 + 30) * 60_000;
    await admin.createBoard({ id, name: 'Next season', sort_order: 'desc', operator: 'best', starts_at: startsAt });
    const page = await openPage(`/#/board/${id}`);
    await textIs(page, '#board-countdown', 'starts in 3d 4h');
    assert.equal(await page.textContent('#board-status'), 'Scheduled');
    assert.equal(await page.getAttribute('#board-status', 'data-status'), 'scheduled');
    assert.equal(await page.getAttribute('#board-countdown', 'data-until'), String(startsAt));
    assert.ok(await page.isHidden('#board-period'), 'a board without resets has no period');
    assert.ok(await page.isHidden('#period-picker'), 'nor periods to pick');
    await page.waitForSelector('#top-empty', { state: 'visible' });
    await textIs(page, `.board-link[data-board="${id}"] .board-link-status`, 'Scheduled · starts in 3d 4h');
    await page.close();
  });

  it('announces a board closed for good, and keeps its final ranking in the picker', async () => {
    const id = boardId('closing');
    await admin.createBoard({ id, name: 'One-off cup', sort_order: 'desc', operator: 'best' });
    await admin.submitScores(id, [
      { participant_id: 'zoe', score: 9 },
      { participant_id: 'yan', score: 7 },
    ]);
    const page = await openPage(`/#/board/${id}`);
    await page.waitForFunction(() => document.querySelectorAll('#top-rows .row').length === 2);
    assert.ok(await page.isHidden('#board-countdown'), 'a board without a schedule counts down to nothing');

    const closed = await api(server, 'POST', `/v1/leaderboards/${id}/close`, { key: server.adminKey });
    assert.equal(closed.status, 200);
    await textIs(page, '#rollover-text', 'The board closed — winner: zoe with 9');
    await textIs(page, '#board-status', 'Closed');
    await textMatches(page, '#board-countdown', /^ended /);
    await page.waitForSelector('#period-select option[value="final"]', { state: 'attached' });
    assert.equal(await page.textContent('#period-select option[value="final"]'), 'final · won by zoe');
    await page.selectOption('#period-select', 'final');
    await page.waitForFunction(() => document.querySelectorAll('#archive-rows .row').length === 2);
    assert.deepEqual(await rowIds(page, '#archive-rows'), ['zoe', 'yan']);
    await page.close();
  });

  it('logged no errors in any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});

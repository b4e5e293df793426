/**
 * The dashboard: the list of boards with their status, live entry counts,
 * versions and rates, and for the open board its schedule (a countdown to
 * its start, end or next reset), live top 50, version, rate of change and
 * connection, plus an optional window around one tracked participant, and
 * the final rankings of its closed periods. Everything live comes through
 * the TypeScript client (src/client), so the dashboard reconnects and falls
 * back like any client. Routes live in the hash: #/board/<id>,
 * #/board/<id>/track/<participant> and #/board/<id>/period/<period>; without
 * one, the dashboard opens the busiest board (busiest.ts).
 */
import { LadderApiError, LadderClient, type Board, type PeriodInfo, type Subscription, type SubscriptionStatus, type ViewUpdate } from '../client/index.js';
import { busiestBoard } from './busiest.js';
import { describeBoard, describeReset, formatCount, formatMoment, formatRate, scoreFormatter, transportNames } from './format.js';
import { PeriodPicker } from './period-picker.js';
import { RankingList } from './ranking-list.js';
import { RateMeter } from './rate.js';
import { scheduleOf, ServerClock, statusNames } from './schedule.js';

const topSize = 50;
const trackRadius = 4;
/** The board list is read this often, so that every board's count, version and rate stay live. */
const boardsRefreshMs = 3000;
/** Without a board in the URL, the two list reads that find the busiest board are this far apart. */
const busiestSampleMs = 1500;
/** One point per second on the rate sparkline. */
const sparklinePoints = 60;
/** Closed periods the picker offers, newest first. */
const periodsListed = 50;
const keyStorage = 'ladder.key';
const participantIdPattern = /^[A-Za-z0-9_.~:@-]{1,128}$/;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`dashboard markup lacks #${id}`);
  return found as T;
}

const ui = {
  connection: element('connection'),
  boardList: element<HTMLUListElement>('board-list'),
  notice: element('notice'),
  keyForm: element<HTMLFormElement>('key-form'),
  keyInput: element<HTMLInputElement>('key-input'),
  welcome: element('welcome'),
  welcomeCode: element('welcome').querySelector('code')!,
  board: element('board'),
  boardName: element('board-name'),
  boardMeta: element('board-meta'),
  boardStatus: element('board-status'),
  boardPeriod: element('board-period'),
  boardCountdown: element('board-countdown'),
  periodPicker: element('period-picker'),
  periodSelect: element<HTMLSelectElement>('period-select'),
  rollover: element('rollover'),
  rolloverText: element('rollover-text'),
  rolloverLink: element<HTMLAnchorElement>('rollover-link'),
  rolloverDismiss: element<HTMLButtonElement>('rollover-dismiss'),
  trackForm: element<HTMLFormElement>('track-form'),
  trackInput: element<HTMLInputElement>('track-input'),
  participantIds: element<HTMLDataListElement>('participant-ids'),
  version: element('stat-version'),
  total: element('stat-total'),
  rate: element('stat-rate'),
  sparkLine: element('sparkline').querySelector('polyline')!,
  sparkArea: element('sparkline').querySelector('polygon')!,
  transport: element('stat-transport'),
  topRows: element<HTMLOListElement>('top-rows'),
  topEmpty: element('top-empty'),
  topNote: element('top-note'),
  topPanel: element('top-panel'),
  archive: element('archive'),
  archivePeriod: element('archive-period'),
  archiveSummary: element('archive-summary'),
  archiveRows: element<HTMLOListElement>('archive-rows'),
  archiveEmpty: element('archive-empty'),
  backToLive: element<HTMLButtonElement>('back-to-live'),
  tracked: element('tracked'),
  trackedName: element('tracked-name'),
  trackedSummary: element('tracked-summary'),
  aroundRows: element<HTMLOListElement>('around-rows'),
  untrack: element<HTMLButtonElement>('untrack'),
};

interface OpenBoard {
  /** The last read of the board: its status and schedule come from here. */
  board: Board;
  readonly top: Subscription;
  readonly topList: RankingList;
  readonly aroundList: RankingList;
  /** A closed period's final rankings, when one is shown instead of the live top. */
  readonly archiveList: RankingList;
  /** The closed period on screen (route #/board/<id>/period/<period>), or null for the live standings. */
  showing: string | null;
  /** The board's periods, newest first (GET .../periods): the picker's choices. */
  periods: readonly PeriodInfo[];
  /** Closed periods whose notice was shown, so that each shows once. */
  readonly announced: Set<string>;
  readonly meter: RateMeter;
  readonly rates: number[];
  /**
   * The board's own version and entry count. A view only hears of changes
   * that touch it, so the view's version lags on a board where most changes
   * happen below the top 50; the board is read once a second as well.
   */
  epoch: string;
  version: number;
  total: number;
  reading: boolean;
  latest: ViewUpdate | null;
  renderedTop: ViewUpdate | null;
  tracked: { readonly participantId: string; readonly subscription: Subscription; latest: ViewUpdate | null; rendered: ViewUpdate | null } | null;
}

interface ListedBoard {
  readonly item: HTMLLIElement;
  readonly link: HTMLAnchorElement;
  readonly name: HTMLSpanElement;
  readonly total: HTMLSpanElement;
  readonly kind: HTMLSpanElement;
  readonly status: HTMLSpanElement;
  readonly versionText: HTMLSpanElement;
  readonly rateText: HTMLSpanElement;
  /** Fed by every read of the list; the open board uses its own, fresher meter. */
  readonly meter: RateMeter;
  /** The epoch and version of the last list read. */
  epoch: string;
  version: number;
}

let client = createClient();
const serverClock = new ServerClock();
const periodPicker = new PeriodPicker(ui.periodSelect, (periodId) => open !== null && routeTo(open.board.id, null, periodId));
let boards: Board[] = [];
const listed = new Map<string, ListedBoard>();
let open: OpenBoard | null = null;
let frameRequested = false;
/** Whether the dashboard may still open the busiest board by itself: until the first navigation. */
let mayOpenBusiest = true;
/** While start() looks for the busiest board, which shows neither the welcome nor a board. */
let choosing = false;

function createClient(): LadderClient {
  const fromUrl = new URLSearchParams(location.search).get('key');
  if (fromUrl !== null) sessionStorage.setItem(keyStorage, fromUrl);
  const apiKey = sessionStorage.getItem(keyStorage) ?? undefined;
  return new LadderClient({ baseUrl: apiBase(), apiKey });
}

/** The page's own directory, so that Ladder behind a path prefix works too. */
function apiBase(): string {
  return new URL('.', location.href).href;
}

// ---- Routing ---------------------------------------------------------------

interface Route {
  readonly boardId: string | null;
  readonly participantId: string | null;
  /** A closed period whose final rankings are shown; null for the live standings. */
  readonly periodId: string | null;
}

function currentRoute(): Route {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] !== 'board' || !parts[1]) return { boardId: null, participantId: null, periodId: null };
  const [, boardId, kind, value] = parts;
  return { boardId, participantId: kind === 'track' && value ? value : null, periodId: kind === 'period' && value ? value : null };
}

function routeTo(boardId: string | null, participantId: string | null = null, periodId: string | null = null): void {
  const hash = boardHash(boardId, participantId, periodId);
  if (location.hash !== hash) location.hash = hash;
  else void applyRoute();
}

/** A participant is tracked in the live standings only, so a route names one or a period, not both. */
function boardHash(boardId: string | null, participantId: string | null = null, periodId: string | null = null): string {
  let hash = '#/';
  if (boardId !== null) hash += `board/${encodeURIComponent(boardId)}`;
  if (boardId !== null && participantId !== null) hash += `/track/${encodeURIComponent(participantId)}`;
  else if (boardId !== null && periodId !== null) hash += `/period/${encodeURIComponent(periodId)}`;
  return hash;
}

async function applyRoute(): Promise<void> {
  const route = currentRoute();
  if (route.boardId === null) {
    closeBoard();
    renderBoardList();
    showWelcome();
    return;
  }
  if (open?.board.id !== route.boardId) {
    closeBoard();
    const board = boards.find((b) => b.id === route.boardId) ?? (await fetchBoard(route.boardId));
    // The route may have changed, or another call opened the board, while the board was fetched.
    if (board === null || currentRoute().boardId !== route.boardId) return;
    if (open?.board.id !== board.id) {
      closeBoard();
      openBoard(board);
    }
  }
  track(route.participantId);
  showPeriod(route.periodId);
}

async function fetchBoard(boardId: string): Promise<Board | null> {
  try {
    return await client.getBoard(boardId);
  } catch (err) {
    showError(err, boardId);
    return null;
  }
}

/**
 * Starts the page: reads the board list, then opens the board the URL names,
 * or else the busiest one (busiestBoard, over two list reads busiestSampleMs
 * apart), or else shows the welcome.
 */
async function start(): Promise<void> {
  choosing = mayOpenBusiest && currentRoute().boardId === null;
  const first = await loadBoards();
  if (!first || !choosing || boards.length === 0) {
    choosing = false;
    return first ? applyRoute() : undefined;
  }
  const earlier = boards;
  await new Promise((resolve) => setTimeout(resolve, busiestSampleMs));
  const second = await loadBoards();
  choosing = false;
  if (!second) return;
  const busiest = busiestBoard(earlier, boards);
  // The user may have picked a board meanwhile; theirs wins.
  if (busiest !== null && mayOpenBusiest && currentRoute().boardId === null) {
    // Replaced rather than pushed, so that Back leaves the dashboard as it would have without the pick.
    history.replaceState(null, '', `#/board/${encodeURIComponent(busiest.id)}`);
  }
  await applyRoute();
}

// ---- Boards list -------------------------------------------------------------

/** Reads the board list and shows it; false when it could not be read (showError has said why). */
async function loadBoards(): Promise<boolean> {
  try {
    const sentAt = Date.now();
    boards = [...(await client.listBoards()).leaderboards];
    if (boards[0] !== undefined) serverClock.observe(boards[0].server_time, sentAt, Date.now());
  } catch (err) {
    showError(err);
    return false;
  }
  const now = performance.now();
  for (const board of boards) {
    const row = listedBoard(board);
    // Another epoch (a board created again, a restart after a crash): versions start over, so old samples mean nothing.
    if (board.epoch !== row.epoch) row.meter.reset();
    row.epoch = board.epoch;
    row.version = board.version;
    row.meter.record(board.version, now);
  }
  ui.keyForm.hidden = true;
  renderBoardList();
  if (open === null && currentRoute().boardId === null && !choosing) showWelcome();
  return true;
}

function listedBoard(board: Board): ListedBoard {
  let found = listed.get(board.id);
  if (found === undefined) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.className = 'board-link';
    link.href = `#/board/${encodeURIComponent(board.id)}`;
    link.dataset.board = board.id;
    const span = (className: string) => Object.assign(document.createElement('span'), { className });
    const live = span('board-link-live');
    found = {
      item,
      link,
      name: span('board-link-name'),
      total: span('board-link-total'),
      kind: span('board-link-kind'),
      status: span('board-link-status'),
      versionText: span('board-link-version'),
      rateText: span('board-link-rate'),
      meter: new RateMeter(),
      epoch: board.epoch,
      version: board.version,
    };
    live.append(found.versionText, ' · ', found.rateText);
    link.append(found.name, found.total, found.kind, found.status, live);
    item.append(link);
    listed.set(board.id, found);
  }
  return found;
}

/**
 * Shows every listed board's status and countdown, entry count, version and
 * rate, updating the elements in place (so that focus and the strip's scroll
 * position stay). The open board shows its own live figures, the others
 * those of the last list read. Called after every list read and once a second.
 */
function renderBoardList(): void {
  const now = performance.now();
  const serverNow = serverClock.now();
  const ids = new Set(boards.map((board) => board.id));
  for (const id of listed.keys()) if (!ids.has(id)) listed.delete(id);
  const items = boards.map((board) => {
    const row = listedBoard(board);
    const live = open !== null && open.board.id === board.id ? open : null;
    const total = live?.total ?? board.total;
    const version = live?.version ?? board.version;
    // The open board shows the rate its stats show (tick), so that the two never disagree.
    const rate = live !== null ? (live.rates[live.rates.length - 1] ?? 0) : row.meter.rate(now);
    setText(row.name, board.name || board.id);
    setText(row.kind, describeBoard(board));
    const schedule = scheduleOf(live?.board ?? board, serverNow);
    row.status.dataset.status = schedule.status;
    setText(row.status, schedule.text === '' ? statusNames[schedule.status] : `${statusNames[schedule.status]} · ${schedule.text}`);
    setText(row.total, formatCount(total));
    setText(row.versionText, `v${formatCount(version)}`);
    setText(row.rateText, `${formatRate(rate)}/s`);
    row.link.title = `${formatCount(total)} entries · version ${formatCount(version)} · ${formatRate(rate)} changes per second`;
    row.link.toggleAttribute('data-active', rate > 0);
    if (live !== null) row.link.setAttribute('aria-current', 'page');
    else row.link.removeAttribute('aria-current');
    return row.item;
  });
  const shown = [...ui.boardList.children];
  if (shown.length !== items.length || items.some((item, i) => shown[i] !== item)) ui.boardList.replaceChildren(...items);
}

function setText(target: HTMLElement, text: string): void {
  if (target.textContent !== text) target.textContent = text;
}

/** On a phone the list is a strip that scrolls sideways: brings the open board into it (never scrolls the page). */
function revealOpenBoard(): void {
  const link = ui.boardList.querySelector('[aria-current]');
  if (link === null) return;
  const strip = ui.boardList.getBoundingClientRect();
  const box = link.getBoundingClientRect();
  if (box.left < strip.left || box.right > strip.right) ui.boardList.scrollLeft += box.left - strip.left;
}

function showWelcome(): void {
  ui.board.hidden = true;
  ui.welcome.hidden = false;
  element('welcome-text').textContent =
    boards.length === 0 ? 'No boards yet. Create one and submit a score, and it shows up here.' : 'Pick a board to watch its ranking change in real time.';
  ui.welcomeCode.textContent = ui.welcomeCode.textContent!.replace(/^curl -X POST \S+/, `curl -X POST ${new URL('v1/leaderboards', apiBase()).href}`);
  setConnection(null);
}

// ---- One board ---------------------------------------------------------------

function openBoard(board: Board): void {
  ui.notice.hidden = true;
  ui.welcome.hidden = true;
  ui.board.hidden = false;
  ui.rollover.hidden = true;
  ui.periodPicker.hidden = true;
  ui.topNote.textContent = '';
  ui.version.textContent = '–';
  ui.total.textContent = '–';
  ui.transport.textContent = '–';
  ui.topEmpty.hidden = true;
  ui.trackInput.value = '';
  const formatScore = scoreFormatter(board);
  const onSelect = (participantId: string) => routeTo(board.id, participantId);
  const topList = new RankingList(ui.topRows, { formatScore, onSelect, markNewcomers: true });
  const aroundList = new RankingList(ui.aroundRows, { formatScore, onSelect, markNewcomers: false });
  // Final rankings are history: a click marks the row rather than tracking the participant live.
  const archiveList: RankingList = new RankingList(ui.archiveRows, { formatScore, onSelect: (participantId) => archiveList.highlight(participantId), markNewcomers: false });
  topList.clear();
  aroundList.clear();
  archiveList.clear();
  const top = client.subscribe(
    board.id,
    { top: topSize },
    (update) => {
      if (open?.top !== top) return;
      open.latest = update;
      observe(open, update.epoch, update.version, update.total);
      scheduleRender();
    },
    {
      onStatus: (status) => open?.top === top && setConnection(status),
      onError: (err) => showError(err, board.id),
      onPeriodClosed: (period, next) => {
        if (open?.top === top) void periodClosed(open, period, next, true);
      },
    },
  );
  const meter = new RateMeter();
  meter.record(board.version, performance.now());
  open = {
    board,
    top,
    topList,
    aroundList,
    archiveList,
    showing: null,
    periods: [],
    announced: new Set(),
    meter,
    rates: [],
    epoch: board.epoch,
    version: board.version,
    total: board.total,
    reading: false,
    latest: null,
    renderedTop: null,
    tracked: null,
  };
  renderBoardHead(open);
  void loadPeriods(open);
  renderBoardList();
  revealOpenBoard();
}

/** The open board's name, description, rules, status, period and countdown; called after every read of the board and once a second. */
function renderBoardHead(board: OpenBoard): void {
  const config = board.board;
  setText(ui.boardName, config.name || config.id);
  const description = typeof config.metadata?.description === 'string' ? `${config.metadata.description} · ` : '';
  const reset = describeReset(config.reset);
  setText(ui.boardMeta, `${description}${describeBoard(config)}${reset === null ? '' : ` · ${reset}`} · id ${config.id}`);
  const schedule = scheduleOf(config, serverClock.now());
  ui.boardStatus.dataset.status = schedule.status;
  setText(ui.boardStatus, statusNames[schedule.status]);
  setText(ui.boardPeriod, config.period === null ? '' : `Period ${config.period}`);
  ui.boardPeriod.hidden = config.period === null;
  setText(ui.boardCountdown, schedule.text);
  ui.boardCountdown.hidden = schedule.text === '';
  // The moment itself, for tests and for the tooltip; the text counts down to it.
  if (schedule.until === null) delete ui.boardCountdown.dataset.until;
  else ui.boardCountdown.dataset.until = String(schedule.until);
  ui.boardCountdown.title = schedule.until === null ? '' : formatMoment(schedule.until);
}

// ---- Periods -----------------------------------------------------------------

/** Reads the board's periods into the picker; resolves to them, or to null when they could not be read (the picker keeps the last). */
async function loadPeriods(board: OpenBoard): Promise<readonly PeriodInfo[] | null> {
  try {
    const { periods } = await client.listPeriods(board.board.id, { limit: periodsListed + 1 });
    if (open !== board) return null;
    board.periods = periods;
    renderPicker(board);
    return periods;
  } catch {
    // The live view reports what is wrong with the board; the next rollover or read tries again.
    return null;
  }
}

/** Called after every read of the board or its periods; the live period's id comes from the board, which is read more often. */
function renderPicker(board: OpenBoard): void {
  const live = board.board.period;
  const closed = board.periods.filter((period) => period.status === 'closed');
  // A board that never reset has nothing to pick, unless the URL names a period.
  ui.periodPicker.hidden = board.board.reset === null && closed.length === 0 && board.showing === null;
  periodPicker.render(live, closed, board.showing);
}

/**
 * Shows a closed period's final rankings instead of the live top (they never
 * change, so they are read once), or, with null, the live standings again.
 * The live views keep running meanwhile, so coming back is instant.
 */
function showPeriod(periodId: string | null): void {
  if (open === null || open.showing === periodId) return;
  const board = open;
  board.showing = periodId;
  board.archiveList.clear();
  ui.topPanel.hidden = periodId !== null;
  ui.archive.hidden = periodId === null;
  renderPicker(board);
  if (periodId === null) return;
  ui.archivePeriod.textContent = periodId;
  ui.archiveSummary.textContent = 'Loading…';
  ui.archiveEmpty.hidden = true;
  client.getRankings(board.board.id, { period: periodId, limit: topSize }).then(
    (page) => {
      if (open !== board || board.showing !== periodId) return;
      board.archiveList.render(page.entries);
      ui.archiveEmpty.hidden = page.entries.length > 0;
      renderArchiveSummary(board, periodId, page.total);
    },
    (err: unknown) => {
      if (open !== board || board.showing !== periodId) return;
      if (err instanceof LadderApiError && err.code === 'board_not_found') return showError(err, board.board.id);
      ui.archiveSummary.textContent = err instanceof Error ? err.message : String(err);
    },
  );
}

function renderArchiveSummary(board: OpenBoard, periodId: string, total: number): void {
  const period = board.periods.find((p) => p.period === periodId);
  const parts: (string | Node)[] = [];
  if (period?.leader) {
    const winner = document.createElement('strong');
    winner.textContent = period.leader.participant_id;
    parts.push('Won by ', winner, ` with ${scoreFormatter(board.board)(period.leader.score)} · `);
  }
  parts.push(`${formatCount(total)} ${total === 1 ? 'entry' : 'entries'}`);
  if (period !== undefined) parts.push(` · ${formatMoment(period.starts_at)} – ${formatMoment(period.ends_at)}`);
  ui.archiveSummary.replaceChildren(...parts);
}

/**
 * A period of the open board closed: announces it with its winner, adds it
 * to the picker and re-reads the board for the new period and countdown
 * (the live view gets a fresh snapshot of the new, empty standings by
 * itself). `heard`: the live view said so (period_closed); otherwise a read
 * of the board found another period (a view on a transport without
 * period_closed, such as polling), which is a close only if the periods
 * list shows it closed (a changed reset schedule also changes the period).
 */
async function periodClosed(board: OpenBoard, period: string, next: string | null, heard: boolean): Promise<void> {
  if (board.announced.has(period)) return;
  if (heard) {
    board.announced.add(period);
    announce(board, period, next, null);
    readBoard(board);
  }
  const periods = await loadPeriods(board);
  const closed = periods?.find((p) => p.period === period && p.status === 'closed');
  if (!heard) {
    if (closed === undefined || board.announced.has(period)) return;
    board.announced.add(period);
  }
  if (open === board) announce(board, period, next, closed ?? null);
}

/** "Period 2026-12-02 closed — winner: ann with 1,200", with a link to its final ranking; stays until dismissed or the next one. */
function announce(board: OpenBoard, period: string, next: string | null, closed: PeriodInfo | null): void {
  const what = period === 'final' ? 'The board' : `Period ${period}`;
  let text = `${what} closed`;
  if (closed?.leader) text += ` — winner: ${closed.leader.participant_id} with ${scoreFormatter(board.board)(closed.leader.score)}`;
  else if (closed !== null) text += ' — no entries';
  if (next === null && period !== 'final') text += ', and with it the board';
  ui.rolloverText.textContent = text;
  ui.rolloverLink.href = boardHash(board.board.id, null, period);
  ui.rollover.dataset.period = period;
  ui.rollover.hidden = false;
}

function closeBoard(): void {
  if (open === null) return;
  open.top.close();
  open.tracked?.subscription.close();
  open.topList.clear();
  open.aroundList.clear();
  open.archiveList.clear();
  ui.tracked.hidden = true;
  ui.archive.hidden = true;
  ui.topPanel.hidden = false;
  ui.rollover.hidden = true;
  open = null;
}

function track(participantId: string | null): void {
  if (open === null || open.tracked?.participantId === participantId) return;
  open.tracked?.subscription.close();
  open.tracked = null;
  open.aroundList.clear();
  open.topList.highlight(participantId);
  ui.tracked.hidden = participantId === null;
  if (participantId === null) return;
  ui.trackInput.value = participantId;
  ui.trackedName.textContent = participantId;
  ui.trackedSummary.textContent = 'Connecting…';
  const board = open.board;
  const subscription = client.subscribe(
    board.id,
    { around: participantId, radius: trackRadius },
    (update) => {
      if (open?.tracked?.subscription !== subscription) return;
      open.tracked.latest = update;
      observe(open, update.epoch, update.version, update.total);
      scheduleRender();
    },
    { onError: (err) => showError(err, board.id) },
  );
  open.tracked = { participantId, subscription, latest: null, rendered: null };
  open.aroundList.highlight(participantId);
}

/** Takes the board's version and total from whichever source is fresher; a new epoch starts the count over. */
function observe(board: OpenBoard, epoch: string, version: number, total: number): void {
  if (epoch !== board.epoch) {
    board.epoch = epoch;
    board.meter.reset();
  } else if (version < board.version) {
    return;
  }
  board.version = version;
  board.total = total;
  board.meter.record(version, performance.now());
}

function readBoard(board: OpenBoard): void {
  if (board.reading) return;
  board.reading = true;
  const sentAt = Date.now();
  client.getBoard(board.board.id).then(
    (read) => {
      board.reading = false;
      serverClock.observe(read.server_time, sentAt, Date.now());
      if (open !== board) return;
      const before = board.board.period;
      board.board = read;
      if (before !== null && read.period !== before) void periodClosed(board, before, read.period, false);
      observe(board, read.epoch, read.version, read.total);
      renderBoardHead(board);
      renderPicker(board);
      scheduleRender();
    },
    // The live view reports what went wrong (connection, deleted board); the next second tries again.
    () => (board.reading = false),
  );
}

function scheduleRender(): void {
  if (frameRequested) return;
  frameRequested = true;
  // At most one render per frame, however many updates arrived; hidden tabs render when shown again.
  requestAnimationFrame(() => {
    frameRequested = false;
    render();
  });
}

function render(): void {
  if (open === null) return;
  const { latest, tracked } = open;
  ui.version.textContent = formatCount(open.version);
  ui.total.textContent = formatCount(open.total);
  ui.topNote.textContent = open.total > topSize ? `of ${formatCount(open.total)}` : '';
  const item = listed.get(open.board.id);
  if (item !== undefined) setText(item.total, formatCount(open.total));
  if (latest !== null && latest !== open.renderedTop) {
    open.topList.render(latest.entries);
    open.renderedTop = latest;
    ui.topEmpty.hidden = latest.entries.length > 0;
  }
  if (tracked?.latest) {
    const { entries } = tracked.latest;
    const total = open.total;
    if (tracked.latest !== tracked.rendered) open.aroundList.render(entries);
    tracked.rendered = tracked.latest;
    const own = entries.find((entry) => entry.participant_id === tracked.participantId);
    if (own === undefined) {
      ui.trackedSummary.textContent = 'No entry yet. The window appears as soon as they score.';
    } else {
      const share = (own.rank / Math.max(total, 1)) * 100;
      const rank = document.createElement('strong');
      rank.textContent = `#${formatCount(own.rank)}`;
      ui.trackedSummary.replaceChildren(rank, ` of ${formatCount(total)} · top ${share < 1 ? share.toFixed(2) : share.toFixed(1)}%`);
    }
  }
}

/** Once a second: the rates in the list, and for the open board its rate, sparkline, ages, markers and participant suggestions. */
function tick(): void {
  if (open === null) return renderBoardList();
  readBoard(open);
  renderBoardHead(open);
  const rate = open.meter.rate(performance.now());
  open.rates.push(rate);
  if (open.rates.length > sparklinePoints) open.rates.shift();
  ui.rate.textContent = formatRate(rate);
  renderBoardList();
  // The samples span the whole width, so the line is drawn from the second sample on.
  const max = Math.max(1, ...open.rates);
  const step = (sparklinePoints - 1) / Math.max(open.rates.length - 1, 1);
  const line = open.rates.map((r, i) => `${(i * step).toFixed(2)},${(19 - (r / max) * 17).toFixed(2)}`).join(' ');
  ui.sparkLine.setAttribute('points', open.rates.length > 1 ? line : '');
  ui.sparkArea.setAttribute('points', open.rates.length > 1 ? `0,20 ${line} ${sparklinePoints - 1},20` : '');
  const now = Date.now();
  open.topList.tick(now);
  open.aroundList.tick(now);
  open.archiveList.tick(now);
  const suggestions = open.latest?.entries.map((entry) => entry.participant_id) ?? [];
  // Replaced only when they change, so that an open suggestion list does not flicker.
  if (suggestions.join('\n') !== [...ui.participantIds.options].map((option) => option.value).join('\n')) {
    ui.participantIds.replaceChildren(...suggestions.map((id) => new Option(id, id)));
  }
}

// ---- Status and errors -------------------------------------------------------

function setConnection(status: SubscriptionStatus | null): void {
  const label = ui.connection.querySelector('.connection-label')!;
  if (status === null) {
    ui.connection.dataset.state = 'idle';
    label.textContent = 'Idle';
    return;
  }
  ui.connection.dataset.state = status.state;
  const transport = transportNames[status.transport];
  const words = { connecting: 'Connecting', live: 'Live', reconnecting: 'Reconnecting', closed: 'Disconnected' }[status.state];
  label.textContent = `${words} · ${transport}`;
  ui.transport.textContent = transport;
}

function showError(err: unknown, boardId?: string): void {
  if (err instanceof LadderApiError && (err.status === 401 || err.status === 403)) {
    closeBoard();
    ui.board.hidden = true;
    ui.welcome.hidden = true;
    ui.keyForm.hidden = false;
    ui.notice.hidden = sessionStorage.getItem(keyStorage) === null;
    ui.notice.textContent = `The key was refused: ${err.message}`;
    return;
  }
  if (err instanceof LadderApiError && err.code === 'board_not_found') {
    closeBoard();
    ui.notice.hidden = false;
    ui.notice.textContent = `There is no board '${boardId ?? ''}' (any more).`;
    void loadBoards();
    routeTo(null);
    return;
  }
  ui.notice.hidden = false;
  ui.notice.textContent = err instanceof Error ? err.message : String(err);
}

// ---- Wiring ------------------------------------------------------------------

ui.trackForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const participantId = ui.trackInput.value.trim();
  if (open === null) return;
  if (participantId === '') return routeTo(open.board.id);
  if (!participantIdPattern.test(participantId)) {
    ui.trackInput.setCustomValidity('Participant ids are 1–128 characters of A–Z a–z 0–9 _ . ~ : @ -');
    ui.trackInput.reportValidity();
    return;
  }
  routeTo(open.board.id, participantId);
});
ui.trackInput.addEventListener('input', () => ui.trackInput.setCustomValidity(''));
ui.trackInput.addEventListener('search', () => {
  if (ui.trackInput.value === '' && open !== null) routeTo(open.board.id);
});
ui.untrack.addEventListener('click', () => open !== null && routeTo(open.board.id));
ui.backToLive.addEventListener('click', () => open !== null && routeTo(open.board.id));
ui.rolloverDismiss.addEventListener('click', () => (ui.rollover.hidden = true));
ui.keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(keyStorage, ui.keyInput.value.trim());
  client.close();
  client = createClient();
  void start();
});
window.addEventListener('hashchange', () => {
  mayOpenBusiest = false;
  void applyRoute();
});
setInterval(tick, 1000);
setInterval(() => void loadBoards(), boardsRefreshMs);
void start();

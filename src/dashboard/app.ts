/**
 * The dashboard: the list of boards with their live entry counts, versions
 * and rates, and for the open board its live top 50, version, rate of change
 * and connection, plus an optional window around one tracked participant.
 * Everything live comes through the TypeScript client (src/client), so the
 * dashboard reconnects and falls back like any client. Routes live in the
 * hash: #/board/<id> and #/board/<id>/track/<participant>; without one, the
 * dashboard opens the busiest board (busiest.ts).
 */
import { LadderApiError, LadderClient, type Board, type Subscription, type SubscriptionStatus, type ViewUpdate } from '../client/index.js';
import { busiestBoard } from './busiest.js';
import { describeBoard, formatCount, formatRate, scoreFormatter, transportNames } from './format.js';
import { RankingList } from './ranking-list.js';
import { RateMeter } from './rate.js';

const topSize = 50;
const trackRadius = 4;
/** The board list is read this often, so that every board's count, version and rate stay live. */
const boardsRefreshMs = 3000;
/** Without a board in the URL, the two list reads that find the busiest board are this far apart. */
const busiestSampleMs = 1500;
/** One point per second on the rate sparkline. */
const sparklinePoints = 60;
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
  tracked: element('tracked'),
  trackedName: element('tracked-name'),
  trackedSummary: element('tracked-summary'),
  aroundRows: element<HTMLOListElement>('around-rows'),
  untrack: element<HTMLButtonElement>('untrack'),
};

interface OpenBoard {
  readonly board: Board;
  readonly top: Subscription;
  readonly topList: RankingList;
  readonly aroundList: RankingList;
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
  readonly versionText: HTMLSpanElement;
  readonly rateText: HTMLSpanElement;
  /** Fed by every read of the list; the open board uses its own, fresher meter. */
  readonly meter: RateMeter;
  /** The epoch and version of the last list read. */
  epoch: string;
  version: number;
}

let client = createClient();
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
}

function currentRoute(): Route {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] !== 'board' || !parts[1]) return { boardId: null, participantId: null };
  return { boardId: parts[1], participantId: parts[2] === 'track' && parts[3] ? parts[3] : null };
}

function routeTo(boardId: string | null, participantId: string | null = null): void {
  let hash = '#/';
  if (boardId !== null) hash += `board/${encodeURIComponent(boardId)}`;
  if (boardId !== null && participantId !== null) hash += `/track/${encodeURIComponent(participantId)}`;
  if (location.hash !== hash) location.hash = hash;
  else void applyRoute();
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
    boards = [...(await client.listBoards()).leaderboards];
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
      versionText: span('board-link-version'),
      rateText: span('board-link-rate'),
      meter: new RateMeter(),
      epoch: board.epoch,
      version: board.version,
    };
    live.append(found.versionText, ' · ', found.rateText);
    link.append(found.name, found.total, found.kind, live);
    item.append(link);
    listed.set(board.id, found);
  }
  return found;
}

/**
 * Shows every listed board's entry count, version and rate, updating the
 * elements in place (so that focus and the strip's scroll position stay).
 * The open board shows its own live figures, the others those of the last
 * list read. Called after every list read and once a second.
 */
function renderBoardList(): void {
  const now = performance.now();
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
  ui.boardName.textContent = board.name || board.id;
  const description = typeof board.metadata?.description === 'string' ? `${board.metadata.description} · ` : '';
  ui.boardMeta.textContent = `${description}${describeBoard(board)} · id ${board.id}`;
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
  topList.clear();
  aroundList.clear();
  const top = client.subscribe(
    board.id,
    { top: topSize },
    (update) => {
      if (open?.top !== top) return;
      open.latest = update;
      observe(open, update.epoch, update.version, update.total);
      scheduleRender();
    },
    { onStatus: (status) => open?.top === top && setConnection(status), onError: (err) => showError(err, board.id) },
  );
  const meter = new RateMeter();
  meter.record(board.version, performance.now());
  open = { board, top, topList, aroundList, meter, rates: [], epoch: board.epoch, version: board.version, total: board.total, reading: false, latest: null, renderedTop: null, tracked: null };
  renderBoardList();
  revealOpenBoard();
}

function closeBoard(): void {
  if (open === null) return;
  open.top.close();
  open.tracked?.subscription.close();
  open.topList.clear();
  open.aroundList.clear();
  ui.tracked.hidden = true;
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
  client.getBoard(board.board.id).then(
    (read) => {
      board.reading = false;
      if (open !== board) return;
      observe(board, read.epoch, read.version, read.total);
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

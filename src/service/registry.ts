/**
 * The registry of boards: every board's configuration, in memory, kept the
 * same in every process. A change goes to the store first, then out on the
 * bus, and every process (this one included) applies it from the bus, so no
 * process keeps a stale copy. Configurations are small; the boards' entries
 * live in the backend, which loads them lazily.
 */
import { parentBoardId } from '../core/derived.js';
import type { BoardConfig } from '../core/types.js';
import type { ChangeBus } from '../feed/bus.js';
import type { Store } from '../store/store.js';

export class BoardRegistry {
  readonly #boards = new Map<string, BoardConfig>();
  /** Board ids in order, rebuilt on demand after a change. */
  #sorted: string[] | null = null;
  /** The same without derived rankings (core/derived.ts), which no listing shows. */
  #sortedPublic: string[] | null = null;
  /** The ids of each board's derived rankings. */
  readonly #derived = new Map<string, Set<string>>();
  readonly #unsubscribe: () => void;

  private constructor(
    private readonly store: Store,
    private readonly bus: ChangeBus,
    /** The store is shared with other processes (cluster mode): a board unknown here may have just been created by one. */
    private readonly shared: boolean,
  ) {
    this.#unsubscribe = bus.subscribe((message) => {
      switch (message.kind) {
        case 'board_created':
        case 'board_changed':
          this.#set(message.config);
          break;
        case 'board_deleted':
          this.#remove(message.boardId);
          break;
      }
    });
  }

  /** Reads every board's configuration from the store. Complexity: O(b). */
  static async open(store: Store, bus: ChangeBus, options: { shared?: boolean } = {}): Promise<BoardRegistry> {
    const registry = new BoardRegistry(store, bus, options.shared ?? false);
    for (const stored of await store.listBoards()) registry.#set(stored.config);
    return registry;
  }

  get size(): number {
    return this.#boards.size;
  }

  /** The board's configuration, or undefined. Synchronous, from memory. */
  get(boardId: string): BoardConfig | undefined {
    return this.#boards.get(boardId);
  }

  /**
   * The board's configuration, looked up in a shared store when it is not
   * known here yet: a board created through another process a moment ago,
   * whose announcement is still on its way, is answered, not 404.
   */
  async find(boardId: string): Promise<BoardConfig | undefined> {
    const known = this.#boards.get(boardId);
    if (known !== undefined || !this.shared) return known;
    const stored = await this.store.getBoard(boardId);
    if (stored !== null) this.#set(stored.config);
    return stored?.config;
  }

  /** Board ids in order, derived rankings included. Complexity: O(1), O(b log b) after a change. */
  ids(): readonly string[] {
    this.#sorted ??= [...this.#boards.keys()].sort();
    return this.#sorted;
  }

  /** The ids of the boards users made (no derived rankings), in order. Complexity: O(1), O(b log b) after a change. */
  publicIds(): readonly string[] {
    this.#sortedPublic ??= this.ids().filter((id) => parentBoardId(id) === null);
    return this.#sortedPublic;
  }

  /** The configurations of the board's derived rankings (core/derived.ts), in id order. Complexity: O(d log d). */
  derivedOf(boardId: string): BoardConfig[] {
    const ids = this.#derived.get(boardId);
    if (ids === undefined) return [];
    return [...ids].sort().flatMap((id) => {
      const config = this.#boards.get(id);
      return config === undefined ? [] : [config];
    });
  }

  /** Creates the board in the store (throws board_exists) and announces it. */
  async create(config: BoardConfig, epoch: string): Promise<void> {
    await this.store.createBoard(config, epoch);
    this.bus.publish({ kind: 'board_created', config });
  }

  /** Writes the board's new configuration to the store and announces it. Returns false when it does not exist. */
  async update(config: BoardConfig): Promise<boolean> {
    if (!(await this.store.updateBoard(config))) return false;
    this.bus.publish({ kind: 'board_changed', config });
    return true;
  }

  /** Reads the board's configuration from the store again (after another process changed it). */
  async reload(boardId: string): Promise<BoardConfig | undefined> {
    const stored = await this.store.getBoard(boardId);
    if (stored === null) {
      this.#remove(boardId);
      return undefined;
    }
    this.#set(stored.config);
    return stored.config;
  }

  /** Deletes the board from the store and announces it. Returns false when it did not exist. */
  async delete(boardId: string): Promise<boolean> {
    const deleted = await this.store.deleteBoard(boardId);
    // Announced either way: a process that still knows the board must forget it.
    this.bus.publish({ kind: 'board_deleted', boardId });
    return deleted;
  }

  close(): void {
    this.#unsubscribe();
  }

  #set(config: BoardConfig): void {
    if (!this.#boards.has(config.id)) {
      this.#sorted = null;
      this.#sortedPublic = null;
      const parent = parentBoardId(config.id);
      if (parent !== null) {
        let ids = this.#derived.get(parent);
        if (ids === undefined) this.#derived.set(parent, (ids = new Set()));
        ids.add(config.id);
      }
    }
    this.#boards.set(config.id, config);
  }

  #remove(boardId: string): void {
    if (!this.#boards.delete(boardId)) return;
    this.#sorted = null;
    this.#sortedPublic = null;
    const parent = parentBoardId(boardId);
    const siblings = parent === null ? undefined : this.#derived.get(parent);
    if (siblings === undefined) return;
    siblings.delete(boardId);
    if (siblings.size === 0) this.#derived.delete(parent!);
  }
}

/**
 * Windows of views kept for resumes on other processes (cluster mode). A
 * view's delta history lives in the process that serves it, so a viewer that
 * reconnects to another process with `since_version` finds no history there.
 * With an archive, each process keeps the window of each view it serves at
 * every chain point for a while, and the process the viewer reaches diffs
 * the kept window at since_version against its own: `resumed` and one delta,
 * instead of a snapshot. Embedded mode has one process and no archive.
 */
import type { ViewWindow } from './window.js';

export interface WindowArchive {
  /** Keeps the view's window at (epoch, version). Fire and forget: a failure only costs a later resume its delta. */
  keep(boardId: string, viewKey: string, epoch: string, version: number, window: ViewWindow): void;
  /** The view's window at (epoch, version) as some process kept it, or null. */
  find(boardId: string, viewKey: string, epoch: string, version: number): Promise<ViewWindow | null>;
}

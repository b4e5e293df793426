/** `ladder/client`: the TypeScript client of Ladder, for browsers and Node 20. */
export { LadderClient, type LadderClientOptions } from './client.js';
export { LadderApiError } from './errors.js';
export type { BackoffOptions } from './backoff.js';
export type { Subscription, SubscriptionStatus, SubscribeOptions, ViewUpdate } from './subscription.js';
export type { View, ViewEntry, Transport, ServerMessage, SnapshotMessage, DeltaMessage, ResumedMessage, ErrorMessage } from './protocol.js';
export { applyDelta, stateFromSnapshot, type ViewState, type DeltaOutcome } from './view-state.js';
export type { WebSocketLike, WebSocketConstructor } from './websocket.js';
export type * from './types.js';

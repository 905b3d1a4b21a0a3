export type { Problem } from '../protocol/problem.js';
export type { Offer } from '../protocol/schemas/offer.js';
export type * from '../protocol/schemas/responses.js';
export * from './client.js';
export { parseSse, type SseEvent } from './sse.js';
export { type ReceiptCheck, verifyLeaseReceipt } from './verify.js';

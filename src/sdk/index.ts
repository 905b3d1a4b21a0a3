export type { Problem } from '../protocol/problem.js';
export type { Offer } from '../protocol/schemas/offer.js';
export type * from '../protocol/schemas/responses.js';
export {
  type ClientOptions,
  ComputeMdClient,
  ComputeMdError,
  type Query,
  type QueryValue,
} from './client.js';

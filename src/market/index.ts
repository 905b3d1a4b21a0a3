export { type Cursor, decodeCursor, encodeCursor } from './cursor.js';
export {
  DISCOVER_KEYS,
  DISCOVER_UNIT,
  type DiscoverOption,
  type DiscoverQuery,
  type DiscoverResult,
  executeDiscover,
  parseDiscoverQuery,
} from './discover.js';
export {
  bandForDistance,
  createGeo,
  DEFAULT_LOCATION,
  type Geo,
  type GeoPoint,
  haversineKm,
  loadGeo,
  locateByName,
  parseRegionsCsv,
  type RegionLocation,
  type RegionRow,
} from './geo.js';
export { type HistoryOptions, PriceHistoryStore } from './history.js';
export { decodeOfferId, encodeOfferId, hash64, offerKey } from './ids.js';
export type { Snapshot } from './index-store.js';
export { createMarket, type Market, type MarketDeps, type PriceHistory, type PriceTick } from './market.js';
export { type ProviderStats, providerStats } from './provider-stats.js';
export {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  NODES_QUERY_KEYS,
  type ParseContext,
  type ParseResult,
  parseNodesQuery,
  type QueryProblem,
} from './query.js';
export type { QueryResult } from './query-exec.js';
export { createRefresher, type Refresher, type RefresherDeps } from './refresher.js';
export { computeSpot, SPOT_UNIT, type SpotDetail, type SpotPrices } from './spot.js';
export type { MarketQuery, ProviderHealth } from './types.js';

import type { OfferInput } from '../offer.js';
import {
  AVAILABILITY_BUCKET_MS,
  availability,
  type ListedOffer,
  moveSpot,
  offerKey,
  PRICE_BUCKET_MS,
  reliability,
  TYPE_PARAMS,
  walk,
} from './model.js';

export {
  AVAILABILITY_BUCKET_MS,
  type ListedOffer,
  moveSpot,
  offerKey,
  PRICE_BUCKET_MS,
  TYPE_PARAMS,
  walk,
} from './model.js';

/**
 * A listed catalog offer as the simulated market shows it at `now` (epoch ms) under `seed`. Pure:
 * the same (offer, now, seed) always gives the same result. On-demand prices are never moved;
 * spot prices walk around the listed spot price below the on-demand ceiling.
 */
export function simulate(offer: ListedOffer, now: number, seed: number): OfferInput {
  const key = offerKey(offer);
  const priceBucket = Math.floor(now / PRICE_BUCKET_MS);
  let price = offer.list_price_per_hour;
  let tightness = 0;
  let observedAt = offer.loaded_at;
  if (offer.interruptible) {
    const dev = walk(seed, key, priceBucket, TYPE_PARAMS[offer.provider_type].spot_sigma);
    const moved = moveSpot(offer.list_price_per_hour, offer.on_demand_price, dev);
    price = moved.price;
    tightness = moved.tightness;
    observedAt = Math.max(offer.loaded_at, priceBucket * PRICE_BUCKET_MS);
  }
  const { on_demand_price: _od, loaded_at: _la, ...listed } = offer;
  return {
    ...listed,
    data_quality: [...offer.data_quality],
    price_per_hour: price,
    available: availability(seed, key, Math.floor(now / AVAILABILITY_BUCKET_MS), offer),
    reliability: reliability(offer, tightness),
    observed_at: observedAt,
    simulated: true,
  };
}

/** Simulates a whole list at one instant. */
export function simulateAll(offers: readonly ListedOffer[], now: number, seed: number): OfferInput[] {
  return offers.map((o) => simulate(o, now, seed));
}

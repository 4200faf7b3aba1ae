import { integer } from '../schema.js';

/**
 * Quantity: a non-negative integer amount in the unit its field names
 * (seconds, bytes, cents). Bounded by 2^53−1 so every JSON implementation
 * reads it exactly.
 */
export const QuantitySchema = integer({ min: 0, max: Number.MAX_SAFE_INTEGER, description: 'Quantity' });
export type Quantity = number;

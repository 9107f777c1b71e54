/**
 * What every write to an operator system takes (the CRM, billing, network and offers ports import it;
 * operator-systems.ts bundles those ports and re-exports it, so it lives here, below both).
 */

/** Every write takes an idempotency key: the same key twice applies the write once and returns its result. */
export interface WriteOptions {
  idempotencyKey: string;
}

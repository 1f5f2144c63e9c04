/**
 * mulberry32: a small, fast, seeded 32-bit PRNG, so fuzz tests, simulations
 * and benches are reproducible from their seed. Not for anything secret.
 *
 * @example
 * ```ts
 * const next = mulberry32(42);
 * next(); // uniform in [0, 1)
 * ```
 */

/** The generator's raw uint32 outputs. */
export function mulberry32Uint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  const next = mulberry32Uint32(seed);
  return () => next() / 4294967296;
}

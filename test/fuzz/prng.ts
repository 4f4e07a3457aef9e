// The fuzzer's seeded pseudo-random numbers: mulberry32 (32-bit state, fast, good enough to pick inputs) and a
// seed mixer, so that every input is a pure function of (run seed, batch, record) and can be made again alone.
// Not for anything secret: Math.random and node:crypto would make runs impossible to repeat.

/** Mixes 32-bit words into one well-spread 32-bit seed (the finalizer of MurmurHash3 after each word). */
export function mixSeed(...words: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const word of words) {
    h = Math.imul(h ^ (word >>> 0), 0x9e3779b1) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

export interface Prng {
  /** The seed it was made from (for reports). */
  readonly seed: number;
  /** A uniform 32-bit unsigned integer. */
  next(): number;
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, n) (0 when n ≤ 0). */
  int(n: number): number;
  /** An integer in [min, max], both included. */
  between(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T;
  bytes(length: number): Uint8Array;
  /**
   * A length skewed towards small values but reaching `max`: 0 and 1 often, then powers of two ± a little.
   * Fuzzing finds more at edges (empty, one, just over a power of two) than at uniform sizes.
   */
  length(max: number): number;
  /** A new generator seeded from this one (for a sub-part that must not shift the rest when it changes). */
  fork(): Prng;
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const float = (): number => next() / 4294967296;
  const int = (n: number): number => (n <= 0 ? 0 : Math.floor(float() * n));
  const between = (min: number, max: number): number => min + int(max - min + 1);
  const prng: Prng = {
    seed: seed >>> 0,
    next,
    float,
    int,
    between,
    chance: (p) => float() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(items.length)]!;
    },
    weighted<T>(choices: readonly (readonly [number, T])[]): T {
      const total = choices.reduce((sum, [weight]) => sum + weight, 0);
      let at = float() * total;
      for (const [weight, value] of choices) {
        if (at < weight) return value;
        at -= weight;
      }
      return choices[choices.length - 1]![1];
    },
    bytes(length) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i += 4) {
        const word = next();
        for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
      }
      return out;
    },
    length(max) {
      if (max <= 0) return 0;
      const roll = float();
      if (roll < 0.1) return 0;
      if (roll < 0.2) return Math.min(1, max);
      if (roll < 0.6) return int(Math.min(max, 64) + 1);
      const bits = Math.floor(Math.log2(max));
      const power = 2 ** int(bits + 1);
      return Math.max(0, Math.min(max, power + between(-2, 2)));
    },
    fork: () => createPrng(mixSeed(next(), next())),
  };
  return prng;
}

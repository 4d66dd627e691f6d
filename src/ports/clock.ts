/** The wall clock, injected so that everything above the core can run on simulated time in tests. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

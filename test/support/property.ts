/** The configuration property's run in the tests: a fixed seed, few runs; both tiers draw the same samples. */
export const PROPERTY_RUN = { seed: 20240917, runs: 300, samples: 10 };

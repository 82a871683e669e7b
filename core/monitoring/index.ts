export {
  binCounts,
  chiSquare,
  gammaQ,
  jensenShannon,
  kolmogorovSf,
  ksTwoSample,
  normalizedWasserstein,
  psi,
  quantileEdges,
  std,
  wasserstein,
} from './statistics';
export { categoricalDrift, DEFAULT_P_VALUE, numericDrift, SMALL_SAMPLE } from './drift';
export type { DriftOptions, DriftResult } from './drift';

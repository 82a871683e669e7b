export { HyperLogLog, HLL_PRECISION } from './hyperloglog';
export type { HyperLogLogState } from './hyperloglog';
export { QuantileSketch, QUANTILE_ALPHA, MIN_INDEXABLE } from './quantile-sketch';
export type { QuantileSketchState } from './quantile-sketch';
export { momentsOf, mergeMoments, sampleStddev, EMPTY_MOMENTS } from './moments';
export type { Moments } from './moments';
export { mergeColumnSketches, mergeAllColumnSketches, nullSketch } from './column-sketch';
export type { ColumnSketchState, NonFiniteCounts } from './column-sketch';
export { sketchRelation, NUMERIC_TYPES, ORDERED_TYPES } from './sql';

export { rowTransformation, windowAggregation, sqlTransformation, intervalOf } from './transformation';
export type {
  Transformation,
  TransformContext,
  RowFunction,
  WindowFeature,
  WindowAggregationSpec,
} from './transformation';
export { TransformationRegistry } from './registry';

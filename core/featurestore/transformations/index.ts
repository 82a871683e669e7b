export {
  rowTransformation,
  windowAggregation,
  sqlTransformation,
  intervalOf,
  durationMs,
  resolveWindowSpec,
} from './transformation';
export type {
  Transformation,
  TransformContext,
  RowFunction,
  WindowFeature,
  WindowAggregationSpec,
  ResolvedWindowSpec,
} from './transformation';
export { TransformationRegistry } from './registry';

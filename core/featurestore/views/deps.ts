import type { OfflineStoreDeps } from '../offline/offline-table';
import type { OnDemandRegistry } from './on-demand';

/** Adapters feature-view reads need: the offline store, on-demand functions and a scratch folder. */
export interface FeatureViewDeps extends OfflineStoreDeps {
  readonly onDemand: OnDemandRegistry;
  /** Folder for temporary local files (DuckDB spill, Parquet before upload). */
  readonly scratchDir: string;
  /** DuckDB threads per read. @default 2 */
  readonly threads?: number;
}

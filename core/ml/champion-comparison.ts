import { rowsSeenBy, toMatrix, type FeatureViewDeps, type SplitName } from '../featurestore';
import { downloadModel, ModelNotFoundError, type RegistryDeps } from '../registry';
import { encodeLabels, type LabelEncoding } from './labels';
import { evaluate } from './metrics';
import { loadSession, predictOnnx } from './onnx/runtime';
import type { Task } from './task';

/** What a candidate was compared with, and on which rows: recorded with the evaluation. */
export interface ChampionComparison {
  readonly alias: string;
  readonly version: number;
  /** The training dataset the champion learned from (its fitted transformations were applied). */
  readonly trainingDataset: {
    readonly featureView: string;
    readonly viewVersion: number;
    readonly version: number;
  };
  /** Held-out rows of the candidate both models were scored on. */
  readonly rows: number;
  /** Held-out rows of the candidate left out because the champion trained or validated on them. */
  readonly excludedRows: number;
  /**
   * `excluded`: rows the champion saw were found and left out. `unknown`: the champion's dataset
   * split by row position (made before split keys), so they could not be told apart.
   */
  readonly overlap: 'excluded' | 'unknown';
  /** The champion's metrics on those rows. */
  readonly metrics: Readonly<Record<string, number>>;
  /** The candidate's metrics on the same rows (what the champion gate compares). */
  readonly candidateMetrics: Readonly<Record<string, number>>;
}

/** Inputs of {@link compareWithChampion}. */
export interface ComparisonRequest {
  readonly model: string;
  /** Alias of the model to compare with. */
  readonly alias: string;
  /** The candidate's dataset and held-out split. */
  readonly dataset: {
    readonly featureView: { readonly name: string; readonly version: number };
    readonly version: number;
  };
  readonly split: SplitName;
  readonly task: Task;
  readonly encoding: LabelEncoding;
  readonly label: string;
  /** The candidate's ONNX and the transformation fitted on its own train split. */
  readonly candidate: {
    readonly onnx: Uint8Array;
    readonly transformation: Parameters<typeof toMatrix>[0];
  };
}

async function score(onnx: Uint8Array, X: Float64Array, rows: number, cols: number) {
  const session = await loadSession(onnx, { threads: 2 });
  try {
    return await predictOnnx(session, X, rows, cols);
  } finally {
    await session.release();
  }
}

/**
 * Scores the model holding `alias` and the candidate like for like: each with its own fitted
 * transformations, on the candidate's held-out rows that the champion neither trained nor validated
 * on (its dataset's split definition is replayed on those records). Returns why not when no fair
 * comparison exists: no model holds the alias, it has no training-dataset lineage, it needs
 * features these rows lack, its classes differ, or it saw every held-out row.
 */
export async function compareWithChampion(
  deps: FeatureViewDeps & RegistryDeps,
  request: ComparisonRequest,
): Promise<{ comparison: ChampionComparison | null; note: string | null }> {
  let champion;
  try {
    champion = await downloadModel(deps, request.model, request.alias);
  } catch (error) {
    if (error instanceof ModelNotFoundError)
      return { comparison: null, note: `no model holds ${request.alias} yet` };
    throw error;
  }
  const { info, onnx } = champion;
  const who = `${request.alias} v${info.version}`;
  const view = info.lineage.featureView;
  const td = info.lineage.trainingDataset;
  if (!view || !td)
    return {
      comparison: null,
      note: `${who} has no training-dataset lineage, so its fitted transformations are unknown; not compared`,
    };
  if (info.signature.task !== request.task)
    return { comparison: null, note: `${who} is a ${info.signature.task} model; not compared` };
  const candidateClasses = request.encoding.classes ?? [];
  if (
    (info.signature.classes ?? []).join('\u0000') !== candidateClasses.join('\u0000') &&
    request.task === 'multiclass'
  )
    return { comparison: null, note: `${who} predicts other classes; not compared` };

  const seen = await rowsSeenBy(deps, request.dataset, request.split, {
    featureView: { name: view.name, version: view.version },
    version: td.version,
  });
  const championTransformation = seen.by.transformation;
  const present = new Set(seen.rows.length ? Object.keys(seen.rows[0]!) : []);
  const lacking = championTransformation.features.filter((f) => !present.has(f));
  if (seen.rows.length && lacking.length)
    return {
      comparison: null,
      note: `${who} reads feature(s) ${lacking.join(', ')} that ${request.dataset.featureView.name} v${request.dataset.featureView.version} does not have; not compared`,
    };
  const overlap = seen.seenAs.some((s) => s === 'unknown') ? 'unknown' : 'excluded';
  const kept = seen.rows.filter((_, i) => seen.seenAs[i] !== 'train' && seen.seenAs[i] !== 'validation');
  const trainingDataset = { featureView: view.name, viewVersion: view.version, version: td.version };
  if (kept.length === 0)
    return {
      comparison: null,
      note: `${who} trained or validated on every held-out row of this dataset; not compared`,
    };
  const y = encodeLabels(
    kept.map((r) => r[request.label]),
    request.encoding,
    request.split,
  );
  const theirs = toMatrix(championTransformation, kept, [], []);
  const mine = toMatrix(request.candidate.transformation, kept, [], []);
  const [championPredictions, candidatePredictions] = [
    await score(onnx, theirs.X, theirs.rows, theirs.cols),
    await score(request.candidate.onnx, mine.X, mine.rows, mine.cols),
  ];
  return {
    comparison: {
      alias: request.alias,
      version: info.version,
      trainingDataset,
      rows: kept.length,
      excludedRows: seen.rows.length - kept.length,
      overlap,
      metrics: evaluate(request.task, y, championPredictions).metrics,
      candidateMetrics: evaluate(request.task, y, candidatePredictions).metrics,
    },
    note:
      overlap === 'unknown'
        ? `${who}'s training dataset #${td.version} split rows by position (made before split keys): rows it trained on could not be left out`
        : null,
  };
}

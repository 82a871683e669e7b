import { and, desc, eq } from 'drizzle-orm';
import { tables } from '../core/db';
import { ValidationError } from '../core/errors';
import type { FeatureViewDeps, OnlineStore } from '../core/featurestore';
import {
  createDeployment,
  LoadedBinding,
  resolveBinding,
  rollbackDeployment,
  rollbackTarget,
  runBatchInference,
  updateDeployment,
  type BatchInferenceResult,
  type PredictionSink,
  type VariantRequest,
} from '../core/serving';
import { activityBoundary } from './failures';
import { heartbeat, recordRunFinish, recordRunStart } from './pipeline-runs';

/** Adapters of the inference worker. */
export interface InferenceDeps extends FeatureViewDeps {
  readonly online: OnlineStore;
  /** onnxruntime threads for batch scoring. @default 2 */
  readonly scoringThreads?: number;
}

/** A batch-inference window as carried across Temporal. */
export interface BatchInferenceInput {
  readonly deployment: string;
  readonly window: { readonly start: string; readonly end: string };
  readonly sinks?: readonly PredictionSink[];
  readonly asOf?: string;
}

/** A deployment change as carried across Temporal. */
export interface DeploymentChange {
  readonly deployment: string;
  readonly action: 'create' | 'upgrade' | 'split' | 'rollback';
  readonly variants?: readonly VariantRequest[];
  readonly missing?: 'error' | 'null';
  readonly description?: string;
  /** A known request that must succeed on every new binding before the switch. */
  readonly smoke?: {
    readonly keys: Readonly<Record<string, unknown>>;
    readonly request?: Readonly<Record<string, unknown>>;
  };
  readonly by?: string;
  /** Rollback: the deployment version to return to (default: the previous good version). */
  readonly to?: number;
  /** Why the change was made, kept with the new deployment version (e.g. a retraining decision). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** The inference-pipeline activities (queue `fti-inference`). */
export interface InferenceActivities {
  startInferenceRun(input: {
    name: string;
    input: unknown;
    window?: { start: string; end: string };
  }): Promise<{ pipelineRunId: number }>;
  scoreBatch(input: BatchInferenceInput, pipelineRunId: number): Promise<BatchInferenceResult>;
  finishInferenceRun(
    run: { pipelineRunId: number },
    outcome: { status: 'completed' | 'failed'; result?: unknown; error?: string },
  ): Promise<void>;
  /** Rollback: the deployment version it returns to (`change.to`, or the previous good version). */
  resolveRollbackTarget(change: DeploymentChange): Promise<number>;
  smokeTestDeployment(
    change: DeploymentChange,
  ): Promise<{ variant: string; model: string; ok: boolean; detail: string }[]>;
  applyDeploymentChange(
    change: DeploymentChange,
    pipelineRunId: number,
  ): Promise<{ deployment: string; version: number }>;
}

/** Builds the inference activities over the worker's adapters. */
export function createInferenceActivities(deps: InferenceDeps): InferenceActivities {
  return {
    startInferenceRun: (input) =>
      activityBoundary(async () => {
        const { id } = await recordRunStart(deps.db, {
          pipeline: 'inference',
          name: input.name,
          input: input.input as object,
          window: input.window
            ? { start: new Date(input.window.start), end: new Date(input.window.end) }
            : undefined,
        });
        return { pipelineRunId: id };
      }),

    scoreBatch: (input, pipelineRunId) =>
      activityBoundary(() =>
        runBatchInference(
          deps,
          {
            deployment: input.deployment,
            window: { start: new Date(input.window.start), end: new Date(input.window.end) },
            ...(input.sinks ? { sinks: input.sinks } : {}),
            ...(input.asOf ? { asOf: new Date(input.asOf) } : {}),
            threads: deps.scoringThreads ?? 2,
            pipelineRunId,
          },
          heartbeat,
        ),
      ),

    finishInferenceRun: (run, outcome) =>
      activityBoundary(async () => {
        await recordRunFinish(deps.db, run.pipelineRunId, outcome);
      }),

    resolveRollbackTarget: (change) =>
      activityBoundary(async () => (await rollbackTarget(deps.db, change.deployment, change.to)).version),

    smokeTestDeployment: (change) =>
      activityBoundary(async () => {
        // A rollback is smoke-tested on what will serve: the bindings of the version it returns to.
        const variants =
          change.action === 'rollback'
            ? (await rollbackTarget(deps.db, change.deployment, change.to)).bindings.map((b) => ({
                variant: b.variant,
                model: b.model.name,
                version: b.model.version,
                weight: b.weight,
                shadow: b.shadow,
              }))
            : (change.variants ?? []);
        if (change.action !== 'rollback' && variants.length === 0)
          throw new ValidationError(`deployment ${change.deployment}: no variants given.`);
        const results = [];
        for (const v of variants) {
          const binding = await resolveBinding(deps.db, v);
          heartbeat(`loading ${binding.model.name} v${binding.model.version}`);
          const loaded = await LoadedBinding.load(deps, binding);
          try {
            if (change.smoke) {
              const scored = await loaded.score(
                [
                  {
                    keys: change.smoke.keys,
                    ...(change.smoke.request ? { request: change.smoke.request } : {}),
                  },
                ],
                change.missing ?? 'error',
              );
              results.push({
                variant: v.variant,
                model: `${binding.model.name} v${binding.model.version}`,
                ok: true,
                detail: JSON.stringify(scored.outputs[0]),
              });
            } else {
              const outputs = await loaded.scoreMatrix(new Float32Array(loaded.cols), 1);
              results.push({
                variant: v.variant,
                model: `${binding.model.name} v${binding.model.version}`,
                ok: true,
                detail: `scored a zero vector: ${JSON.stringify(outputs[0])}`,
              });
            }
          } finally {
            await loaded.release();
          }
        }
        return results;
      }),

    applyDeploymentChange: (change, pipelineRunId) =>
      activityBoundary(async () => {
        // A retried activity finds the version its run already created.
        const [done] = await deps.db
          .select({ version: tables.deploymentVersions.version })
          .from(tables.deploymentVersions)
          .innerJoin(tables.deployments, eq(tables.deployments.id, tables.deploymentVersions.deploymentId))
          .where(
            and(
              eq(tables.deployments.name, change.deployment),
              eq(tables.deploymentVersions.pipelineRunId, pipelineRunId),
            ),
          )
          .orderBy(desc(tables.deploymentVersions.version))
          .limit(1);
        if (done) return { deployment: change.deployment, version: done.version };
        const options = {
          createdBy: change.by ?? 'deployment workflow',
          pipelineRunId,
          ...(change.missing ? { missing: change.missing } : {}),
          ...(change.settings ? { settings: { ...change.settings } } : {}),
        };
        const info =
          change.action === 'create'
            ? await createDeployment(deps.db, {
                name: change.deployment,
                variants: change.variants ?? [],
                ...(change.description ? { description: change.description } : {}),
                ...options,
              })
            : change.action === 'rollback'
              ? await rollbackDeployment(deps.db, change.deployment, {
                  ...options,
                  ...(change.to !== undefined ? { to: change.to } : {}),
                })
              : await updateDeployment(
                  deps.db,
                  change.deployment,
                  change.action,
                  change.variants ?? [],
                  options,
                );
        return { deployment: info.name, version: info.current.version };
      }),
  };
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Database } from '../db';
import {
  FeatureViewNotFoundError,
  TrainingDatasetNotFoundError,
  type OnDemandRegistry,
  type OnlineStore,
} from '../featurestore';
import { importModel, modelImportSpecSchema, TrainerRegistry } from '../ml';
import type { ObjectCache, ObjectStore } from '../storage';
import { FeatureStoreApiError } from './feature-store-api';

/** Largest ONNX file the import route takes (base64 in JSON adds a third). */
export const MAX_IMPORT_BYTES = 128 * 1024 * 1024;

/** Body of `POST /v1/models/{name}/import`: the import options of `fti models import` plus the file. */
export const modelImportRequestSchema = modelImportSpecSchema
  .omit({ model: true })
  .extend({
    onnx: z.base64().min(1).meta({ description: 'The ONNX file, base64-encoded.' }),
    fileName: z
      .string()
      .min(1)
      .max(200)
      .default('model.onnx')
      .meta({ description: 'Recorded in provenance.' }),
  })
  .strict()
  .meta({ id: 'ModelImport' });

/** Answer of the import route. */
export const modelImportResponseSchema = z
  .object({
    model: z.string(),
    version: z.number().int(),
    state: z.enum(['registered', 'rejected']),
    alias: z.object({ name: z.string(), from: z.number().int().nullable(), to: z.number().int() }).nullable(),
    reused: z.boolean().meta({
      description:
        'True when this file and these options were imported before: the existing version, nothing changed (no alias moved).',
    }),
    split: z.string().meta({ description: 'The split the model was scored on.' }),
    rows: z.number().int().nullable().meta({ description: 'Rows scored (null when `reused`).' }),
    metrics: z.record(z.string(), z.number()),
    gates: z.array(z.object({ gate: z.string(), passed: z.boolean() })),
    provenance: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'ModelImported' });

/** What the import route needs. */
export interface ModelImportRouteDeps {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly online: OnlineStore;
  readonly onDemand: OnDemandRegistry;
  /** The service's cache and scratch folder, shared with the feature-store routes. */
  readonly cache: ObjectCache;
  readonly scratchDir: string;
  /** Checks the caller's API key for scope `models` (401/403 otherwise). */
  readonly authenticate: (request: FastifyRequest) => Promise<unknown>;
}

/**
 * `POST /v1/models/{name}/import` — registers an ONNX model trained elsewhere, exactly as
 * `fti models import` does (adapted, scored on the dataset's test split, gated, provenance): the
 * Python client's `import_model`. 400 for a bad request or a model that does not fit the view
 * (nothing registered), 404 for an unknown view or dataset.
 */
export function registerModelImportRoute(app: FastifyInstance, deps: ModelImportRouteDeps): void {
  const trainingDeps = { ...deps, trainers: new TrainerRegistry() };
  // One import at a time per service: each reads a training split and scores it in this process,
  // beside the predictions it serves.
  let previous: Promise<unknown> = Promise.resolve();
  app.post<{ Params: { name: string } }>(
    '/v1/models/:name/import',
    {
      bodyLimit: Math.ceil((MAX_IMPORT_BYTES * 4) / 3) + 64 * 1024,
      // The key is checked before the body is read, so nobody without scope `models` can make the
      // service buffer and parse a large upload.
      onRequest: async (request) => {
        await deps.authenticate(request);
      },
    },
    async (request) => {
      const parsed = modelImportRequestSchema.safeParse(request.body ?? {});
      if (!parsed.success)
        throw new FeatureStoreApiError(
          400,
          `body: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(whole)'} ${i.message}`).join('; ')}`,
        );
      const { onnx, fileName, ...options } = parsed.data;
      const bytes = new Uint8Array(Buffer.from(onnx, 'base64'));
      if (bytes.length > MAX_IMPORT_BYTES)
        throw new FeatureStoreApiError(
          413,
          `the ONNX file is ${bytes.length} bytes; the limit is ${MAX_IMPORT_BYTES}.`,
        );
      const run = previous.then(() =>
        importModel(trainingDeps, { ...options, model: request.params.name }, bytes, fileName),
      );
      previous = run.catch(() => undefined);
      let result;
      try {
        result = await run;
      } catch (error) {
        if (error instanceof FeatureViewNotFoundError || error instanceof TrainingDatasetNotFoundError)
          throw new FeatureStoreApiError(404, error.message);
        throw error;
      }
      const body: z.input<typeof modelImportResponseSchema> = {
        model: result.registration.model,
        version: result.registration.version,
        state: result.registration.state,
        alias: result.registration.alias,
        reused: result.reused,
        split: result.summary.split,
        rows: result.summary.rows,
        metrics: result.summary.metrics,
        gates: [...result.summary.gates],
        provenance: result.provenance,
      };
      return body;
    },
  );
}

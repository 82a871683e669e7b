import fs from 'node:fs';
import { ValidationError } from '../../errors';
import { externalTrainerDefinitionSchema, type ExternalTrainerDefinition } from '../external-trainer';
import { gbdt } from './gbdt';
import { linearRegression, logisticRegression } from './linear';
import { mlp } from './mlp';
import type { Trainer } from './trainer';

const BUILT_IN = [gbdt, logisticRegression, linearRegression, mlp] as readonly Trainer[];

/** Whether `trainer` is one of the built-in trainers (those a training thread can run by name). */
export function isBuiltInTrainer(trainer: Trainer): boolean {
  return BUILT_IN.includes(trainer);
}

/**
 * Trainers available by name: the built-in ones by default, plus external trainers the worker
 * registers (commands live here, on the worker, never in workflow input).
 */
export class TrainerRegistry {
  private readonly trainers = new Map<string, Trainer>();
  private readonly externals = new Map<string, ExternalTrainerDefinition>();

  constructor(trainers: readonly Trainer[] = BUILT_IN) {
    for (const t of trainers) this.trainers.set(t.name, t);
  }

  register(trainer: Trainer): this {
    this.trainers.set(trainer.name, trainer);
    return this;
  }

  /** The trainer, or an error listing the known ones. */
  get(name: string): Trainer {
    const trainer = this.trainers.get(name);
    if (!trainer)
      throw new ValidationError(
        `unknown trainer "${name}"; known trainers: ${[...this.trainers.keys()].join(', ')} (or a registered external trainer: {"external": {"name": …}}).`,
        {
          location: 'trainer',
        },
      );
    return trainer;
  }

  /** Validates hyperparameters; errors name each bad field and the trainer. */
  parseParams(name: string, params: unknown): Record<string, unknown> {
    const parsed = this.get(name).paramsSchema.safeParse(params ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`);
      throw new ValidationError(`trainer ${name}: invalid hyperparameters — ${problems.join('; ')}.`, {
        location: 'trainer.params',
      });
    }
    return parsed.data as Record<string, unknown>;
  }

  names(): string[] {
    return [...this.trainers.keys()];
  }

  /** Registers an external trainer under `name` (validated: command, timeout, env, passEnv). */
  registerExternal(name: string, definition: unknown): this {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(name))
      throw new ValidationError(
        `external trainer name ${JSON.stringify(name)} must be lowercase letters, digits, _ or -, starting with a letter.`,
      );
    const parsed = externalTrainerDefinitionSchema.safeParse(definition);
    if (!parsed.success)
      throw new ValidationError(
        `external trainer ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(definition)'} ${i.message}`).join('; ')}.`,
      );
    this.externals.set(name, parsed.data);
    return this;
  }

  /**
   * Registers the external trainers of a JSON file (`{ "<name>": { "command": [...], … } }`), as
   * `FTI_EXTERNAL_TRAINERS` names on a training worker. Errors name the file and the entry.
   */
  loadExternalTrainers(file: string): this {
    let entries: unknown;
    try {
      entries = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ValidationError(`external trainers file ${file}: ${(error as Error).message}`);
    }
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries))
      throw new ValidationError(
        `external trainers file ${file}: must be a JSON object of name → definition.`,
      );
    for (const [name, definition] of Object.entries(entries)) {
      try {
        this.registerExternal(name, definition);
      } catch (error) {
        throw new ValidationError(`external trainers file ${file}: ${(error as Error).message}`);
      }
    }
    return this;
  }

  /** A registered external trainer, or an error listing the registered ones. */
  external(name: string): ExternalTrainerDefinition {
    const found = this.externals.get(name);
    if (!found)
      throw new ValidationError(
        `external trainer "${name}" is not registered on this worker (registered: ${[...this.externals.keys()].join(', ') || 'none'}); register it in the file FTI_EXTERNAL_TRAINERS names.`,
        { location: 'trainer.external.name' },
      );
    return found;
  }
}

import { ValidationError } from '../../errors';
import { gbdt } from './gbdt';
import { linearRegression, logisticRegression } from './linear';
import { mlp } from './mlp';
import type { Trainer } from './trainer';

/** Trainers available by name; the built-in ones are registered by default. */
export class TrainerRegistry {
  private readonly trainers = new Map<string, Trainer>();

  constructor(
    trainers: readonly Trainer[] = [gbdt, logisticRegression, linearRegression, mlp] as readonly Trainer[],
  ) {
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
        `unknown trainer "${name}"; known trainers: ${[...this.trainers.keys()].join(', ')} (or an external command).`,
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
}

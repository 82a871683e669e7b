import { ValidationError } from '../../errors';
import type { Transformation } from './transformation';

/**
 * The transformations a features worker can run, by name. A feature team registers its functions
 * here when its worker starts; pipelines reference them by name (workflow inputs carry names, not
 * code).
 */
export class TransformationRegistry {
  private readonly entries = new Map<string, Transformation>();

  /** Registers a transformation; registering a name twice is an error (it would be ambiguous). */
  register(name: string, transformation: Transformation): this {
    if (!/^[a-z][a-z0-9_.-]{0,99}$/.test(name)) {
      throw new ValidationError(`transformation name "${name}" must be lowercase letters, digits, _ . or -.`);
    }
    if (this.entries.has(name)) throw new ValidationError(`transformation "${name}" is already registered.`);
    this.entries.set(name, transformation);
    return this;
  }

  /** The named transformation; the error lists what this worker has. */
  get(name: string): Transformation {
    const found = this.entries.get(name);
    if (!found) {
      const known = [...this.entries.keys()].sort();
      throw new ValidationError(
        `transformation "${name}" is not registered on this features worker (registered: ${known.join(', ') || 'none'}). Register it in the worker's feature module and restart the worker.`,
      );
    }
    return found;
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }
}

import { describeError, FtiError } from '../core/errors';

/** Global flags every command honours. */
export interface OutputOptions {
  json?: boolean;
}

/** Prints a result: JSON for scripts with `--json`, otherwise the human rendering. */
export function emit(options: OutputOptions, value: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, jsonSafe, 2)}\n` : `${human()}\n`);
}

/** BIGINT values (DuckDB) print as numbers when exact, else as strings. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

/** Prints a failure as `error: <cause>` (a stack trace only with FTI_DEBUG=1) and sets exit code 1. */
export function fail(error: unknown): void {
  let message = error instanceof FtiError || error instanceof Error ? error.message : describeError(error);
  // A failed workflow wraps the activity's own error: show the cause, not "Workflow execution failed".
  if (error instanceof Error && error.name === 'WorkflowFailedError') {
    let root: unknown = error;
    while (root instanceof Error && root.cause instanceof Error) root = root.cause;
    message = `workflow failed: ${(root as Error).message}`;
  }
  process.stderr.write(`error: ${message}\n`);
  if (process.env.FTI_DEBUG === '1' && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
}

/** Left-aligned columns for small tables. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>(
    (w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)),
    [],
  );
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

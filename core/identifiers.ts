import { ValidationError } from './errors';

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Validates a user-chosen name (feature group, feature, column, view) as a lowercase SQL identifier:
 * a letter, then letters, digits or `_`, at most 63 characters. Such names can be quoted into SQL
 * without escaping. Returns the name.
 */
export function assertIdentifier(name: unknown, what: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new ValidationError(
      `${what} ${JSON.stringify(name)} is not a valid name: use a lowercase letter followed by lowercase letters, digits or _ (max 63), e.g. "card_txn_stats".`,
      { location: what },
    );
  }
  return name;
}

/** True when `name` is a valid identifier (see {@link assertIdentifier}). */
export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** Double-quotes an identifier that already passed {@link assertIdentifier}. */
export function quoteIdent(name: string): string {
  if (!IDENTIFIER.test(name) && !/^_fti_[a-z0-9_]+$/.test(name)) {
    throw new ValidationError(`refusing to quote unvalidated identifier ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}

/**
 * Double-quotes a column name the platform derived from data (a one-hot output such as
 * `plan=free`), doubling embedded quotes: safe for any text without a NUL. Use
 * {@link quoteIdent} for names users declare, which must pass validation instead.
 */
export function quoteDerivedColumn(name: string): string {
  if (name.includes('\0'))
    throw new ValidationError(`column name ${JSON.stringify(name)} contains a NUL character`);
  return `"${name.replace(/"/g, '""')}"`;
}

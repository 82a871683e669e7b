import { ValidationError } from '../errors';

const SAFE_KEY = /^[A-Za-z0-9!_.*'()=\-/]+$/;

/**
 * Validates an object key: non-empty, relative, no `..` or empty segments, and only characters that
 * are safe in S3 keys and local cache paths alike. Returns the key unchanged.
 */
export function assertObjectKey(key: string): string {
  const problem =
    key.length === 0
      ? 'is empty'
      : key.length > 900
        ? 'is longer than 900 characters'
        : key.startsWith('/')
          ? 'starts with /'
          : !SAFE_KEY.test(key)
            ? "contains characters outside A-Z a-z 0-9 ! _ . * ' ( ) = - /"
            : key
                  .split('/')
                  .some(
                    (part, i, all) => part === '..' || part === '.' || (part === '' && i < all.length - 1),
                  )
              ? 'has an empty, . or .. path segment'
              : undefined;
  if (problem) {
    throw new ValidationError(
      `Object key "${key.slice(0, 80)}" ${problem}; use a relative key like "a/b/file.parquet".`,
      {
        location: 'object key',
      },
    );
  }
  return key;
}

/** Joins key segments with `/`, dropping empty ones and duplicate slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((part) => part.split('/'))
    .filter((part) => part.length > 0)
    .join('/');
}

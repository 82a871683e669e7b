import { randomBytes } from 'node:crypto';

/** A name unique to this test run, safe as an identifier, key segment and task queue name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

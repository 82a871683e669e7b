import fs from 'node:fs';
import path from 'node:path';

/**
 * The repository/package root (the folder holding package.json), found by walking up from `from`.
 * Works the same from TypeScript sources (tests) and from compiled `dist/` output.
 */
export function projectRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'core'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json with a core/ folder above ${from}`);
    dir = parent;
  }
}

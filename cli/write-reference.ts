#!/usr/bin/env node
// Writes docs/cli.md from the command tree (npm run docs:cli).
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../core/project-root';
import { cliReference } from './reference';

fs.writeFileSync(path.join(projectRoot(), 'docs', 'cli.md'), cliReference());
process.stdout.write('wrote docs/cli.md\n');

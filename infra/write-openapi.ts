#!/usr/bin/env node
// Writes docs/openapi.json, the OpenAPI document the online service serves at /v1/openapi.json
// (npm run docs:openapi), formatted as the repository's prettier check expects.
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../core/project-root';
import { openApiDocument } from '../core/serving/openapi';

async function main(): Promise<void> {
  const file = path.join(projectRoot(), 'docs', 'openapi.json');
  // prettier is a development dependency: this script runs in a checkout, never in production.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  const text = await prettier.format(JSON.stringify(openApiDocument()), { ...options, filepath: file });
  fs.writeFileSync(file, text);
  process.stdout.write(`wrote docs/openapi.json\n`);
}

void main();

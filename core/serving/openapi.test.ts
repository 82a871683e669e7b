import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../project-root';
import { API_KEY_SCOPES } from './api-keys';
import { openApiDocument } from './openapi';

describe('OpenAPI document', () => {
  const document = openApiDocument() as {
    openapi: string;
    paths: Record<string, Record<string, { security: Record<string, string[]>[]; responses: object }>>;
  };

  it('equals docs/openapi.json (run `npm run build && npm run docs:openapi` after changing the API)', () => {
    const file = JSON.parse(
      fs.readFileSync(path.join(projectRoot(), 'docs', 'openapi.json'), 'utf8'),
    ) as unknown;
    expect(document).toEqual(file);
  });

  it('is OpenAPI 3.1 with a known scope, a 2xx answer and errors on every operation', () => {
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.values(document.paths).flatMap((p) => Object.values(p));
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const operation of operations) {
      for (const requirement of operation.security)
        for (const scopes of Object.values(requirement))
          for (const scope of scopes) expect(API_KEY_SCOPES).toContain(scope);
      expect(Object.keys(operation.responses).some((s) => s.startsWith('2'))).toBe(true);
    }
    expect(JSON.stringify(document)).not.toContain('$defs');
  });
});

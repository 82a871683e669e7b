import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_DEFAULTS, loadConfig } from '../../core/config';
import { runCli } from '../support/cli';

// These run the compiled `fti` binary as a user would, against the stack that infra/test.sh brought up.
// Clearing the test overrides makes the CLI see the main configuration again.
const MAIN_ENV = {
  DATABASE_URL: process.env.FTI_MAIN_DATABASE_URL ?? '',
  S3_BUCKET: '',
  TEMPORAL_NAMESPACE: '',
};
const stateDir = loadConfig().stateDir;
const stackIsLocal = !process.env.FTI_MAIN_S3_ENDPOINT && !process.env.FTI_MAIN_TEMPORAL_ADDRESS;

function pidFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['temporal.pid', 'seaweedfs.pid']) {
    const file = path.join(stateDir, name);
    if (fs.existsSync(file)) out[name] = fs.readFileSync(file, 'utf8');
  }
  return out;
}

describe('infra stack (compiled CLI)', () => {
  it('status lists every service with its URL and the Temporal UI link', () => {
    const result = runCli(['stack', 'status', '--json'], MAIN_ENV);
    expect(result.code).toBe(0);
    const { services } = JSON.parse(result.stdout) as {
      services: { service: string; running: boolean; url: string; links?: Record<string, string> }[];
    };
    expect(services.map((s) => s.service)).toEqual(['postgres', 's3', 'temporal', 'nats']);
    expect(services.every((s) => s.running)).toBe(true);
    expect(services.find((s) => s.service === 'temporal')?.links?.['web ui']).toMatch(
      /^http:\/\/.+:8233\/namespaces\/fti\/workflows$/,
    );
  });

  (stackIsLocal ? it : it.skip)('up twice is harmless: nothing restarts, provisioning is a no-op', () => {
    const before = pidFiles();
    expect(Object.keys(before)).toEqual(['temporal.pid', 'seaweedfs.pid']);
    const result = runCli(['stack', 'up', '--json'], MAIN_ENV);
    expect(result.code).toBe(0);
    expect(pidFiles()).toEqual(before);
    const report = JSON.parse(result.stdout) as {
      provisioned: { searchAttributesAdded: number; databases: string[] };
    };
    expect(report.provisioned.searchAttributesAdded).toBe(0);
    expect(report.provisioned.databases).toEqual(['fti', 'fti_test']);
  });

  (stackIsLocal ? it : it.skip)('refuses busy ports it did not take, naming the port and the fix', () => {
    const emptyState = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-state-'));
    const result = runCli(['stack', 'up'], { ...MAIN_ENV, FTI_STATE_DIR: emptyState });
    fs.rmSync(emptyState, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/port 8333 is already in use by a process the stack did not start/);
    expect(result.stderr).toMatch(/port 7233 \(gRPC\) is already in use/);
    expect(result.stderr).toContain('TEMPORAL_ADDRESS');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('explains an unreachable PostgreSQL in one paragraph, password redacted', () => {
    const result = runCli(['db', 'migrate'], { DATABASE_URL: 'postgres://app:pa55word@127.0.0.1:9/fti' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PostgreSQL at postgres://app:***@127.0.0.1:9/fti is not usable');
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).not.toContain('pa55word');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('explains wrong S3 credentials without printing them', () => {
    const result = runCli(['stack', 'up'], {
      ...MAIN_ENV,
      S3_ENDPOINT: loadConfig().s3Endpoint,
      S3_SECRET_ACCESS_KEY: 'definitely-wrong-secret',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('s3: cannot create bucket');
    expect(result.stderr).toMatch(/Access denied .*S3_SECRET_ACCESS_KEY/);
    expect(result.stderr).not.toContain('definitely-wrong-secret');
  });

  it('explains an unreachable Temporal server', () => {
    const result = runCli(['check'], { TEMPORAL_ADDRESS: '127.0.0.1:9' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: cannot connect to Temporal at 127\.0\.0\.1:9 \(plaintext\): .*TEMPORAL_ADDRESS/,
    );
  });

  it('explains a NATS_URL that does not answer, naming the variable and the fix', () => {
    const result = runCli(['stack', 'up'], { ...MAIN_ENV, NATS_URL: 'nats://127.0.0.1:9' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'nats: NATS_URL=nats://127.0.0.1:9 does not answer. Start that server, or unset NATS_URL',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('uses the documented defaults for the local stack', () => {
    expect(loadConfig({}, {}).s3Endpoint).toBe(CONFIG_DEFAULTS.s3Endpoint);
  });
});

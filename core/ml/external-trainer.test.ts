import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { externalTrainerDefinitionSchema, externalTrainerEnv } from './external-trainer';
import { TrainerRegistry } from './trainers/registry';

describe('external trainers', () => {
  it('give the child only the allowlist, passEnv without credentials, its env and its job folder', () => {
    const definition = externalTrainerDefinitionSchema.parse({
      command: ['python3', 'train.py', '{job}'],
      env: { OMP_NUM_THREADS: '2' },
      passEnv: ['PYTHONPATH', 'DATABASE_URL', 'S3_SECRET_ACCESS_KEY', 'PGPASSWORD'],
    });
    const env = externalTrainerEnv(
      definition,
      { jobFile: '/jobs/1/job.json', workDir: '/jobs/1', device: '0' },
      {
        PATH: '/usr/bin',
        PYTHONPATH: '/lib',
        DATABASE_URL: 'postgres://secret',
        S3_SECRET_ACCESS_KEY: 'secret',
        PGPASSWORD: 'secret',
        TEMPORAL_ADDRESS: 'x:7233',
        HOME: '/root',
      },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      PYTHONPATH: '/lib',
      OMP_NUM_THREADS: '2',
      FTI_JOB_FILE: '/jobs/1/job.json',
      HOME: '/jobs/1',
      TMPDIR: '/jobs/1/tmp',
      CUDA_VISIBLE_DEVICES: '0',
    });
  });

  it('are registered from the worker file, with errors naming the file and the entry', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-ext-reg-'));
    const file = path.join(dir, 'trainers.json');
    fs.writeFileSync(file, JSON.stringify({ 'xgb-py': { command: ['python3', 'x.py', '{job}'] } }));
    const registry = new TrainerRegistry().loadExternalTrainers(file);
    expect(registry.external('xgb-py')).toMatchObject({
      command: ['python3', 'x.py', '{job}'],
      timeoutSeconds: 3600,
    });
    expect(() => registry.external('other')).toThrow(
      'external trainer "other" is not registered on this worker (registered: xgb-py)',
    );
    fs.writeFileSync(file, JSON.stringify({ 'Bad Name': { command: ['x'] } }));
    expect(() => new TrainerRegistry().loadExternalTrainers(file)).toThrow(
      `external trainers file ${file}: external trainer name "Bad Name"`,
    );
    fs.writeFileSync(file, JSON.stringify({ ok: { command: [] } }));
    expect(() => new TrainerRegistry().loadExternalTrainers(file)).toThrow(
      /external trainer ok: command Too small/,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

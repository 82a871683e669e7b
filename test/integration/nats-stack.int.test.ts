import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { projectRoot } from '../../core/project-root';
import { natsService } from '../../infra/stack/nats';
import { probeNats } from '../../infra/stack/nats-info';
import { isAlive } from '../../infra/stack/processes';
import type { StackContext } from '../../infra/stack/service';
import { ensureTool } from '../../infra/stack/tools';

// The path a fresh machine without NATS takes: the stack starts its own nats-server -js. Each test
// uses its own free port and state folder, so the shared stack's NATS (port 4222) is never touched.

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function contextFor(natsUrl: string, stateDir: string, explicit = false): StackContext {
  return {
    root: projectRoot(),
    stateDir,
    config: loadConfig({ natsUrl, stateDir }, {}),
    explicit: { database: false, s3: false, temporal: false, nats: explicit },
    timeoutMs: 30_000,
  };
}

describe('local stack: NATS', () => {
  const stateDirs: string[] = [];
  const children: ChildProcess[] = [];
  const tempState = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-nats-state-'));
    stateDirs.push(dir);
    return dir;
  };

  afterAll(async () => {
    for (const dir of stateDirs) {
      // Stops a server a failed test left behind; a no-op when the test stopped it already.
      await natsService.down(contextFor('nats://127.0.0.1:4222', dir));
      fs.rmSync(dir, { recursive: true, force: true });
    }
    for (const child of children) child.kill('SIGKILL');
  });

  it('starts its own nats-server with JetStream when none answers, and down leaves nothing behind', async () => {
    const port = await freePort();
    const stateDir = tempState();
    const ctx = contextFor(`nats://127.0.0.1:${port}`, stateDir);

    const up = await natsService.up(ctx);
    expect(up).toMatchObject({
      service: 'nats',
      running: true,
      mode: 'managed',
      url: `nats://127.0.0.1:${port}`,
    });
    const probe = await probeNats('127.0.0.1', port);
    expect(probe).toMatchObject({ kind: 'nats', info: { jetstream: true } });
    const pidFile = path.join(stateDir, 'nats.pid');
    const { pid } = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid: number };
    expect(fs.existsSync(path.join(stateDir, 'nats'))).toBe(true);

    // A second up is harmless: the same process keeps running.
    await natsService.up(ctx);
    expect((JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid: number }).pid).toBe(pid);

    expect(await natsService.down(ctx)).toBe(true);
    expect(isAlive(pid)).toBe(false);
    expect(fs.existsSync(pidFile)).toBe(false);
    expect(await probeNats('127.0.0.1', port)).toEqual({ kind: 'absent' });
    expect(await natsService.status(ctx)).toMatchObject({ running: false, mode: 'absent' });
    // Nothing left to stop: down only stops what up started.
    expect(await natsService.down(ctx)).toBe(false);
  });

  it('uses a NATS server already answering, and down leaves it running', async () => {
    const port = await freePort();
    const binary = ensureTool('nats-server', projectRoot());
    const dataDir = tempState();
    const existing = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dataDir], {
      stdio: 'ignore',
    });
    children.push(existing);
    const ctx = contextFor(`nats://127.0.0.1:${port}`, tempState());
    await expect(waitForNats(port)).resolves.toBe(true);

    expect(await natsService.up(ctx)).toMatchObject({ running: true, mode: 'existing' });
    expect(await natsService.down(ctx)).toBe(false);
    expect(existing.exitCode).toBeNull();
    expect(await probeNats('127.0.0.1', port)).toMatchObject({ kind: 'nats' });
  });

  it('refuses a NATS server with JetStream off, saying how to turn it on', async () => {
    const port = await freePort();
    const binary = ensureTool('nats-server', projectRoot());
    const plain = spawn(binary, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    children.push(plain);
    await expect(waitForNats(port)).resolves.toBe(true);

    const url = `nats://127.0.0.1:${port}`;
    await expect(natsService.up(contextFor(url, tempState()))).rejects.toThrow(
      /nats: the NATS server already on 127\.0\.0\.1:\d+ \(nats-server [\d.]+\) has JetStream off.*nats-server -js/,
    );
    await expect(natsService.up(contextFor(url, tempState(), true))).rejects.toThrow(
      /NATS_URL=nats:\/\/127\.0\.0\.1:\d+ .*has JetStream off/,
    );
  });

  it('names NATS_URL and the fix when the configured server does not answer', async () => {
    const port = await freePort();
    await expect(
      natsService.up(contextFor(`nats://app:secret@127.0.0.1:${port}`, tempState(), true)),
    ).rejects.toThrow(
      new RegExp(
        `^nats: NATS_URL=nats://\\*\\*\\*:\\*\\*\\*@127\\.0\\.0\\.1:${port} does not answer\\. Start that server, or unset NATS_URL`,
      ),
    );
  });
});

async function waitForNats(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await probeNats('127.0.0.1', port, 500)).kind === 'nats') return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

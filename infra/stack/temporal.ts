import fs from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../core/pipelines';
import { testSettingsFor } from '../../core/config';
import { StackError } from './errors';
import { httpStatus, isPortOpen, waitUntil } from './net';
import { readLiveProcess, startDetached, stopRecorded, tail } from './processes';
import { hostPortOf, type ServiceStatus, type StackContext, type StackService } from './service';
import { ensureTool } from './tools';

const files = (ctx: StackContext) => ({
  pid: path.join(ctx.stateDir, 'temporal.pid'),
  log: path.join(ctx.stateDir, 'logs', 'temporal.log'),
  db: path.join(ctx.stateDir, 'temporal', 'temporal.db'),
});

/**
 * Temporal dev server (`temporal server start-dev`) with a SQLite file under the state folder, so
 * workflow history survives restarts. Namespaces and search attributes are (re)registered by
 * provisioning, which also covers an existing database file.
 */
export const temporalService: StackService = {
  name: 'temporal',

  async up(ctx) {
    const { host, port } = hostPortOf(ctx.config.temporalAddress, 7233);
    const ui = hostPortOf(ctx.config.temporalUiUrl, 8233);
    if (ctx.explicit.temporal) {
      if (!(await isPortOpen(host, port, 3000))) {
        throw new StackError(
          'temporal',
          `TEMPORAL_ADDRESS=${ctx.config.temporalAddress} does not answer. Start that server, or unset TEMPORAL_ADDRESS to let the stack run a local dev server.`,
        );
      }
      return this.status(ctx);
    }
    const f = files(ctx);
    if (readLiveProcess(f.pid)) return waitHealthy(ctx);
    for (const [what, p] of [
      ['gRPC', port],
      ['Web UI', ui.port],
    ] as const) {
      if (await isPortOpen(host, p, 500)) {
        throw new StackError(
          'temporal',
          `port ${p} (${what}) is already in use by a process the stack did not start. Stop it, or set TEMPORAL_ADDRESS (and TEMPORAL_UI_URL) to use that server instead.`,
        );
      }
    }
    const binary = ensureTool('temporal', ctx.root);
    fs.mkdirSync(path.dirname(f.db), { recursive: true });
    const namespaces = [ctx.config.temporalNamespace, testSettingsFor(ctx.config).temporalNamespace];
    startDetached({
      command: binary,
      args: [
        'server',
        'start-dev',
        '--db-filename',
        f.db,
        '--ip',
        host,
        '--port',
        String(port),
        '--ui-port',
        String(ui.port),
        '--log-level',
        'warn',
        ...namespaces.flatMap((ns) => ['--namespace', ns]),
        ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, kind]) => [
          '--search-attribute',
          `${name}=${kind}`,
        ]),
      ],
      pidFile: f.pid,
      logFile: f.log,
    });
    return waitHealthy(ctx);
  },

  async down(ctx) {
    return ctx.explicit.temporal ? false : stopRecorded(files(ctx).pid);
  },

  async status(ctx) {
    const { host, port } = hostPortOf(ctx.config.temporalAddress, 7233);
    const running = await isPortOpen(host, port, 1000);
    const managed = !ctx.explicit.temporal && readLiveProcess(files(ctx).pid) !== undefined;
    return {
      service: 'temporal',
      running,
      mode: ctx.explicit.temporal ? 'external' : managed ? 'managed' : running ? 'existing' : 'absent',
      url: ctx.config.temporalAddress,
      links: { 'web ui': `${ctx.config.temporalUiUrl}/namespaces/${ctx.config.temporalNamespace}/workflows` },
      detail: `namespace ${ctx.config.temporalNamespace}`,
    };
  },
};

async function waitHealthy(ctx: StackContext): Promise<ServiceStatus> {
  const { host, port } = hostPortOf(ctx.config.temporalAddress, 7233);
  const ok = await waitUntil(
    async () =>
      (await isPortOpen(host, port, 500)) && (await httpStatus(ctx.config.temporalUiUrl, 1000)) === 200,
    ctx.timeoutMs,
  );
  if (!ok) {
    const f = files(ctx);
    throw new StackError(
      'temporal',
      `dev server did not become healthy within ${ctx.timeoutMs / 1000}s (gRPC ${ctx.config.temporalAddress}, UI ${ctx.config.temporalUiUrl}). Last lines of ${f.log}:\n${tail(f.log)}\nFix the cause above, or remove ${path.dirname(f.db)} if its database file is corrupt.`,
    );
  }
  return temporalService.status(ctx);
}

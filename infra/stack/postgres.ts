import fs from 'node:fs';
import path from 'node:path';
import { redactUrl } from '../../core/config';
import { StackError } from './errors';
import { isPortOpen, waitUntil } from './net';
import { runCommand, which } from './processes';
import { hostPortOf, type StackContext, type StackService } from './service';
import { aptInstall } from './tools';

const startedFile = (ctx: StackContext) => path.join(ctx.stateDir, 'postgres.json');

interface StartedCluster {
  version: string;
  cluster: string;
}

/**
 * PostgreSQL: `DATABASE_URL` when set; otherwise a server already answering on the default address;
 * otherwise the installed Debian cluster, started with pg_ctlcluster; otherwise `apt-get install
 * postgresql` first. Only a cluster that `up` started is stopped by `down`.
 */
export const postgresService: StackService = {
  name: 'postgres',

  async up(ctx) {
    const { host, port } = hostPortOf(ctx.config.databaseUrl, 5432);
    if (await isPortOpen(host, port, 1000)) return this.status(ctx);
    if (ctx.explicit.database) {
      throw new StackError(
        'postgres',
        `DATABASE_URL=${redactUrl(ctx.config.databaseUrl)} does not answer on ${host}:${port}. Start that server, or unset DATABASE_URL to use a local one.`,
      );
    }
    let clusters = listClusters();
    let installedHere = false;
    if (clusters.length === 0) {
      aptInstall(['postgresql'], 'postgres');
      installedHere = true;
      clusters = listClusters();
      if (clusters.length === 0) {
        throw new StackError(
          'postgres',
          'postgresql was installed but no cluster exists; create one with `pg_createcluster <version> main`.',
        );
      }
    }
    const target = clusters.find((c) => c.port === port) ?? clusters[0]!;
    const started = runCommand('pg_ctlcluster', [
      '--skip-systemctl-redirect',
      target.version,
      target.cluster,
      'start',
    ]);
    if (started.code !== 0 && !/already running/i.test(started.output)) {
      throw new StackError(
        'postgres',
        `pg_ctlcluster ${target.version} ${target.cluster} start failed: ${started.output.trim()}`,
      );
    }
    const record: StartedCluster = { version: target.version, cluster: target.cluster };
    fs.mkdirSync(ctx.stateDir, { recursive: true });
    fs.writeFileSync(startedFile(ctx), JSON.stringify(record));
    if (!(await waitUntil(() => isPortOpen(host, port, 500), ctx.timeoutMs))) {
      throw new StackError(
        'postgres',
        `cluster ${target.version}/${target.cluster} started but nothing answers on ${host}:${port} within ${ctx.timeoutMs / 1000}s; it listens on port ${target.port}. Set DATABASE_URL to match, or check /var/log/postgresql.`,
      );
    }
    if (installedHere) {
      // A fresh Debian cluster only allows peer auth for postgres; give it the default URL's password.
      const password = decodeURIComponent(new URL(ctx.config.databaseUrl).password || 'postgres');
      const user = decodeURIComponent(new URL(ctx.config.databaseUrl).username || 'postgres');
      const sql = `ALTER USER "${user.replace(/"/g, '')}" WITH PASSWORD '${password.replace(/'/g, "''")}'`;
      const altered = runCommand('runuser', ['-u', 'postgres', '--', 'psql', '-q', '-c', sql]);
      if (altered.code !== 0) {
        throw new StackError(
          'postgres',
          `could not set the password of user ${user}: ${altered.output.trim()}`,
        );
      }
    }
    return this.status(ctx);
  },

  async down(ctx) {
    const file = startedFile(ctx);
    if (!fs.existsSync(file)) return false;
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as StartedCluster;
    runCommand('pg_ctlcluster', ['--skip-systemctl-redirect', record.version, record.cluster, 'stop']);
    fs.rmSync(file, { force: true });
    return true;
  },

  async status(ctx) {
    const { host, port } = hostPortOf(ctx.config.databaseUrl, 5432);
    const running = await isPortOpen(host, port, 1000);
    const managed = fs.existsSync(startedFile(ctx));
    return {
      service: 'postgres',
      running,
      mode: ctx.explicit.database ? 'external' : managed ? 'managed' : running ? 'existing' : 'absent',
      url: redactUrl(ctx.config.databaseUrl),
    };
  },
};

/** Debian clusters from `pg_lsclusters` (empty when PostgreSQL is not installed). */
function listClusters(): { version: string; cluster: string; port: number }[] {
  if (!which('pg_lsclusters')) return [];
  const out = runCommand('pg_lsclusters', ['--no-header']);
  if (out.code !== 0) return [];
  return out.output
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 3 && /^\d/.test(cols[0] ?? ''))
    .map((cols) => ({ version: cols[0]!, cluster: cols[1]!, port: Number(cols[2]) }));
}

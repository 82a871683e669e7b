import fs from 'node:fs';
import path from 'node:path';
import { StackError } from './errors';
import { httpStatus, isPortOpen, waitUntil } from './net';
import { readLiveProcess, startDetached, stopRecorded, tail } from './processes';
import { hostPortOf, type ServiceStatus, type StackContext, type StackService } from './service';
import { ensureTool } from './tools';

/** Internal SeaweedFS ports (master, volume, filer); gRPC ports are these + 10000. */
const INTERNAL_PORTS = { master: 9333, volume: 8380, filer: 8888 } as const;

const files = (ctx: StackContext) => ({
  pid: path.join(ctx.stateDir, 'seaweedfs.pid'),
  log: path.join(ctx.stateDir, 'logs', 'seaweedfs.log'),
  data: path.join(ctx.stateDir, 'seaweedfs'),
  s3Config: path.join(ctx.stateDir, 'seaweedfs-s3.json'),
});

/**
 * S3: `S3_ENDPOINT` when set; otherwise SeaweedFS (`weed server -s3`) with its S3 gateway on the
 * configured endpoint's port and the configured credentials. Buckets are created by provisioning.
 */
export const seaweedfsService: StackService = {
  name: 's3',

  async up(ctx) {
    const { host, port } = hostPortOf(ctx.config.s3Endpoint, 8333);
    if (ctx.explicit.s3) {
      if ((await httpStatus(ctx.config.s3Endpoint, 3000)) === undefined) {
        throw new StackError(
          's3',
          `S3_ENDPOINT=${ctx.config.s3Endpoint} does not answer. Start that server, or unset S3_ENDPOINT to let the stack run SeaweedFS.`,
        );
      }
      return this.status(ctx);
    }
    const f = files(ctx);
    if (readLiveProcess(f.pid)) return waitHealthy(ctx);
    const ports = [
      port,
      ...Object.values(INTERNAL_PORTS),
      ...Object.values(INTERNAL_PORTS).map((p) => p + 10000),
    ];
    for (const p of ports) {
      if (await isPortOpen(host, p, 500)) {
        throw new StackError(
          's3',
          `port ${p} is already in use by a process the stack did not start (SeaweedFS needs ${ports.join(', ')}). Stop that process, or set S3_ENDPOINT to use an existing S3 server.`,
        );
      }
    }
    const binary = ensureTool('weed', ctx.root);
    fs.mkdirSync(f.data, { recursive: true });
    // The identity file carries the secret: readable by the owner only.
    fs.writeFileSync(
      f.s3Config,
      JSON.stringify({
        identities: [
          {
            name: 'fti',
            credentials: [{ accessKey: ctx.config.s3AccessKeyId, secretKey: ctx.config.s3SecretAccessKey }],
            actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
          },
        ],
      }),
      { mode: 0o600 },
    );
    startDetached({
      command: binary,
      args: [
        'server',
        `-dir=${f.data}`,
        `-ip=${host}`,
        `-ip.bind=${host}`,
        `-master.port=${INTERNAL_PORTS.master}`,
        `-volume.port=${INTERNAL_PORTS.volume}`,
        `-filer.port=${INTERNAL_PORTS.filer}`,
        '-master.volumeSizeLimitMB=512',
        '-volume.max=0',
        // A single-node dev store has no peers to drain to, and no election to wait for.
        '-volume.preStopSeconds=0',
        '-master.electionTimeout=1s',
        '-s3',
        `-s3.port=${port}`,
        `-s3.config=${f.s3Config}`,
      ],
      pidFile: f.pid,
      logFile: f.log,
    });
    return waitHealthy(ctx);
  },

  async down(ctx) {
    return ctx.explicit.s3 ? false : stopRecorded(files(ctx).pid);
  },

  async status(ctx) {
    const running = (await httpStatus(ctx.config.s3Endpoint, 1500)) !== undefined;
    const managed = !ctx.explicit.s3 && readLiveProcess(files(ctx).pid) !== undefined;
    return {
      service: 's3',
      running,
      mode: ctx.explicit.s3 ? 'external' : managed ? 'managed' : running ? 'existing' : 'absent',
      url: ctx.config.s3Endpoint,
      detail: `bucket ${ctx.config.s3Bucket}`,
    };
  },
};

async function waitHealthy(ctx: StackContext): Promise<ServiceStatus> {
  const { host } = hostPortOf(ctx.config.s3Endpoint, 8333);
  // The gateway answers before the filer has a writable volume; wait for both.
  const ok = await waitUntil(
    async () =>
      (await httpStatus(ctx.config.s3Endpoint, 1000)) !== undefined &&
      (await httpStatus(`http://${host}:${INTERNAL_PORTS.master}/cluster/status`, 1000)) === 200,
    ctx.timeoutMs,
  );
  if (!ok) {
    const f = files(ctx);
    throw new StackError(
      's3',
      `SeaweedFS did not become healthy within ${ctx.timeoutMs / 1000}s at ${ctx.config.s3Endpoint}. Last lines of ${f.log}:\n${tail(f.log)}`,
    );
  }
  return seaweedfsService.status(ctx);
}

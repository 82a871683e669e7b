import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { projectRoot } from '../../core/project-root';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';

/**
 * An S3 server of a test's own: a SeaweedFS (`weed server -s3`, the binary the stack installs in
 * .venv/bin) with its own data directory and its own ports, so fault tests can stop and restart it
 * while the stack's S3 at 127.0.0.1:8333 keeps serving everyone else. Objects survive stop/start
 * (same data directory). Credentials are the platform's configured ones.
 */
export interface PrivateS3 {
  /** `http://127.0.0.1:<port>`, stable across stop/start. */
  readonly endpoint: string;
  /** The bucket created at start. */
  readonly bucket: string;
  /** Environment overrides pointing a worker process at this server and bucket. */
  readonly env: Record<string, string>;
  /** A client on the bucket (close it when done). */
  store(): S3ObjectStore;
  /** Stops the server (SIGTERM, SIGKILL after 10 s) and waits until the S3 port is closed. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data, and waits until it serves the bucket. */
  start(): Promise<void>;
  /** True when the S3 port accepts a connection. */
  reachable(): Promise<boolean>;
  /** Stops the server and removes its files. Safe to call twice. */
  cleanup(): Promise<void>;
  /** The server log (read it when a test fails). */
  readonly logFile: string;
}

const PORT_NAMES = [
  'master',
  'masterGrpc',
  'volume',
  'volumeGrpc',
  'filer',
  'filerGrpc',
  's3',
  's3Grpc',
] as const;

/** Starts a private SeaweedFS with an S3 gateway and creates `bucket` in it. */
export async function startPrivateS3(bucket = 'fti-chaos'): Promise<PrivateS3> {
  const config = loadConfig();
  const binary = path.join(projectRoot(), '.venv', 'bin', 'weed');
  if (!fs.existsSync(binary))
    throw new Error(`private S3: ${binary} is missing; run infra/stack.sh up first`);
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-private-s3-'));
  const dataDir = path.join(rootDir, 'data');
  fs.mkdirSync(dataDir);
  const logFile = path.join(rootDir, 'weed.log');
  const identities = path.join(rootDir, 's3.json');
  fs.writeFileSync(
    identities,
    JSON.stringify({
      identities: [
        {
          name: 'fti',
          credentials: [{ accessKey: config.s3AccessKeyId, secretKey: config.s3SecretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
    { mode: 0o600 },
  );
  const ports = Object.fromEntries(
    await Promise.all(PORT_NAMES.map(async (name) => [name, await freePort()] as const)),
  ) as Record<(typeof PORT_NAMES)[number], number>;
  const endpoint = `http://127.0.0.1:${ports.s3}`;
  const args = [
    'server',
    `-dir=${dataDir}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-master.port=${ports.master}`,
    `-master.port.grpc=${ports.masterGrpc}`,
    `-volume.port=${ports.volume}`,
    `-volume.port.grpc=${ports.volumeGrpc}`,
    `-filer.port=${ports.filer}`,
    `-filer.port.grpc=${ports.filerGrpc}`,
    '-master.volumeSizeLimitMB=64',
    '-volume.max=0',
    '-volume.preStopSeconds=0',
    '-master.electionTimeout=1s',
    '-master.telemetry=false',
    '-s3',
    `-s3.port=${ports.s3}`,
    `-s3.port.grpc=${ports.s3Grpc}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.config=${identities}`,
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const reachable = () => portOpen(ports.s3);
  const storeOf = () => objectStoreFromConfig({ ...config, s3Endpoint: endpoint, s3Bucket: bucket });

  const server: PrivateS3 = {
    endpoint,
    bucket,
    logFile,
    env: { S3_ENDPOINT: endpoint, S3_BUCKET: bucket },
    store: storeOf,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      const fd = fs.openSync(logFile, 'a');
      const started = spawn(binary, args, { stdio: ['ignore', fd, fd] });
      fs.closeSync(fd);
      child = started;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      // Healthy = the master answers and a bucket write goes through (the filer has a volume).
      const deadline = Date.now() + 60_000;
      let last: unknown;
      while (Date.now() < deadline) {
        if (started.exitCode !== null) break;
        const store = storeOf();
        try {
          await store.ensureBucket();
          await store.put('.fti-private-s3-probe', 'ok');
          return;
        } catch (error) {
          last = error;
        } finally {
          store.close();
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      throw new Error(
        `private S3 at ${endpoint} did not become healthy (${String(last)}); log:\n${tail(logFile)}`,
      );
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      for (let i = 0; i < 50 && (await reachable()); i++) await new Promise((r) => setTimeout(r, 100));
    },
    reachable,
    async cleanup() {
      await server.stop();
      fs.rmSync(rootDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** A port the OS reports free now, below 55535 (SeaweedFS derives nothing from it: all are explicit). */
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

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

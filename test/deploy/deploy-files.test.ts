import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_DEFAULTS, ENV } from '../../core/config';
import { TASK_QUEUES, streamsQueueOf } from '../../core/pipelines';

// The deployment files (infra/deploy) and guide (docs/deploying.md) name entry points, routes,
// environment variables and task queues of the code; nothing compiles them, so this test holds them
// to the source: a renamed worker, route, variable or queue fails here, not in a user's cluster.

const ROOT = path.resolve(__dirname, '../..');
const K8S = path.join(ROOT, 'infra/deploy/k8s');
const CONTAINERS = path.join(ROOT, 'infra/deploy/containers');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** The subset of js-yaml this test uses (present with jest: @istanbuljs/load-nyc-config needs it). */
interface YamlParser {
  loadAll(text: string): unknown[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as YamlParser;

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

interface Manifest {
  readonly file: string;
  readonly doc: Json;
}

const manifestFiles = fs.readdirSync(K8S).filter((f) => f.endsWith('.yaml'));
const manifests: Manifest[] = manifestFiles.flatMap((file) =>
  yaml
    .loadAll(fs.readFileSync(path.join(K8S, file), 'utf8'))
    .filter((doc) => doc !== null && doc !== undefined)
    .map((doc) => ({ file, doc: obj(doc) })),
);
const ofKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind);

/** Pod specs of Deployments and Jobs, with the object's name. */
const podSpecs = [...ofKind('Deployment'), ...ofKind('Job')].map((m) => ({
  name: String(obj(m.doc.metadata).name),
  kind: String(m.doc.kind),
  labels: obj(obj(m.doc.metadata).labels),
  spec: obj(obj(obj(m.doc.spec).template).spec),
}));
const containers = podSpecs.flatMap((p) =>
  list(p.spec.containers).map((c) => ({ owner: p.name, container: obj(c) })),
);

/** Every `node dist/….js` the Containerfiles, the entrypoint and the manifests run. */
function entryPoints(): { where: string; script: string }[] {
  const found: { where: string; script: string }[] = [];
  for (const file of fs.readdirSync(CONTAINERS)) {
    const text = fs.readFileSync(path.join(CONTAINERS, file), 'utf8');
    for (const match of text.matchAll(/node"?,?\s+"?(dist\/[A-Za-z0-9_/.-]+?\.js)/g))
      found.push({ where: file, script: match[1]! });
    // The entrypoint runs dist/workers/$FTI_WORKER.js for each name it accepts.
    const accepted = /case "\$\{FTI_WORKER:-\}" in\s*\n\s*([a-z| -]+)\)/.exec(text);
    if (accepted)
      for (const name of accepted[1]!.split('|').map((s) => s.trim()))
        found.push({ where: `${file} (FTI_WORKER=${name})`, script: `dist/workers/${name}.js` });
  }
  for (const { owner, container } of containers) {
    const command = list(container.command).map(String);
    if (command[0] === 'node' && command[1]) found.push({ where: `k8s ${owner}`, script: command[1] });
  }
  return found;
}

describe('deployment files match the code they deploy', () => {
  it('every manifest parses and names its kind, API version and object', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    for (const { file, doc } of manifests) {
      expect({ file, apiVersion: typeof doc.apiVersion, kind: typeof doc.kind }).toEqual({
        file,
        apiVersion: 'string',
        kind: 'string',
      });
      if (doc.kind !== 'Kustomization') expect(typeof obj(doc.metadata).name).toBe('string');
    }
  });

  it('the kustomization lists every manifest but the migration job, which runs before it', () => {
    const kustomization = ofKind('Kustomization')[0];
    expect(kustomization).toBeDefined();
    const resources = list(kustomization!.doc.resources).map(String).sort();
    const expected = manifestFiles
      .filter((f) => f !== 'kustomization.yaml' && f !== 'migrate-job.yaml')
      .sort();
    expect(resources).toEqual(expected);
  });

  it('every `node dist/….js` entry point is compiled from a source file that exists', () => {
    const found = entryPoints();
    // Four workers, the service, the migration job and the entrypoint's names at least.
    expect(found.length).toBeGreaterThanOrEqual(10);
    const missing = found.filter(({ script }) => {
      const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      return !fs.existsSync(path.join(ROOT, source));
    });
    expect(missing).toEqual([]);
  });

  it('each worker Deployment polls the queue it is labelled and autoscaled for', () => {
    const queues = Object.values(TASK_QUEUES) as string[];
    const workers = podSpecs.filter((p) => p.kind === 'Deployment' && p.name.startsWith('fti-worker-'));
    expect(workers.map((w) => w.name).sort()).toEqual([
      'fti-worker-features',
      'fti-worker-inference',
      'fti-worker-training',
    ]);
    for (const worker of workers) {
      const queue = String(worker.labels['fti.dev/task-queue']);
      expect(queues).toContain(queue);
      const command = list(obj(list(worker.spec.containers)[0]).command).map(String);
      const source = read(command[1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
      const key = /runWorker\(TASK_QUEUES\.(\w+)\)/.exec(source)?.[1] as keyof typeof TASK_QUEUES | undefined;
      expect({ worker: worker.name, polls: key && TASK_QUEUES[key] }).toEqual({
        worker: worker.name,
        polls: queue,
      });
      // SIGTERM lets in-flight activities return (workers/run-worker.ts): never the 30 s default or less.
      expect(Number(worker.spec.terminationGracePeriodSeconds)).toBeGreaterThanOrEqual(60);
    }
  });

  it('KEDA scales existing Deployments on queues the workers poll', () => {
    const deployments = ofKind('Deployment').map((m) => String(obj(m.doc.metadata).name));
    const polled = (Object.values(TASK_QUEUES) as string[]).flatMap((q) => [q, streamsQueueOf(q)]);
    const scaled = ofKind('ScaledObject');
    expect(scaled.length).toBe(3);
    for (const { doc } of scaled) {
      expect(deployments).toContain(String(obj(obj(doc.spec).scaleTargetRef).name));
      expect(Number(obj(doc.spec).minReplicaCount)).toBeGreaterThanOrEqual(1);
      for (const trigger of list(obj(doc.spec).triggers).map(obj)) {
        expect(trigger.type).toBe('temporal');
        const metadata = obj(trigger.metadata);
        expect(polled).toContain(String(metadata.taskQueue));
        for (const field of ['endpoint', 'namespace', 'targetQueueSize'])
          expect(metadata[field]).toBeDefined();
      }
    }
  });

  it('probes call routes the inference server defines, on the port it listens on', () => {
    const server = read('core/serving/server.ts');
    const routes = new Set([...server.matchAll(/app\.get(?:<[^>]*>)?\(\s*'([^']+)'/g)].map((m) => m[1]!));
    expect(routes.has('/health')).toBe(true);
    const probed = containers.flatMap(({ owner, container }) =>
      ['livenessProbe', 'readinessProbe', 'startupProbe']
        .map((probe) => ({ owner, probe, get: obj(obj(container[probe]).httpGet) }))
        .filter((p) => p.get.path !== undefined),
    );
    expect(probed.map((p) => p.probe).sort()).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
    for (const { owner, probe, get } of probed) {
      expect({ owner, probe, path: get.path, known: routes.has(String(get.path)) }).toEqual({
        owner,
        probe,
        path: get.path,
        known: true,
      });
    }
    // Liveness never depends on PostgreSQL/S3; readiness does (core/serving/server.ts).
    const service = containers.find((c) => c.owner === 'fti-inference-service')!.container;
    expect(obj(obj(service.livenessProbe).httpGet).path).toBe('/health');
    expect(obj(obj(service.readinessProbe).httpGet).path).toBe('/health/ready');
    const env = Object.fromEntries(list(service.env).map((e) => [obj(e).name, obj(e).value]));
    const port = list(service.ports).map(obj)[0]!;
    expect(String(port.containerPort)).toBe(env[ENV.servicePort]);
    expect(env[ENV.serviceHost]).toBe('0.0.0.0');
    expect(read('infra/deploy/containers/service.Containerfile')).toContain(
      `EXPOSE ${String(port.containerPort)}`,
    );
  });

  it('the ConfigMap and Secret hold only variables loadConfig reads; the Secret holds the credentials', () => {
    const configNames = (Object.keys(CONFIG_DEFAULTS) as (keyof typeof CONFIG_DEFAULTS)[]).map((k) => ENV[k]);
    // Grep too: the names must be read through ENV in core/config, not only listed.
    expect(read('core/config/config.ts')).toMatch(/env\[ENV\[key\]\]/);
    const configMap = obj(ofKind('ConfigMap')[0]?.doc.data);
    const secret = obj(ofKind('Secret')[0]?.doc.stringData);
    for (const name of [...Object.keys(configMap), ...Object.keys(secret)])
      expect(configNames).toContain(name);
    for (const credential of [ENV.databaseUrl, ENV.s3AccessKeyId, ENV.s3SecretAccessKey, ENV.temporalApiKey])
      expect({ credential, inSecret: credential in secret, inConfigMap: credential in configMap }).toEqual({
        credential,
        inSecret: true,
        inConfigMap: false,
      });
  });

  it('the TLS files the ConfigMap names are mounted, read-only, on every worker', () => {
    // The TLS lines ship commented out (the example cluster is plaintext); check them as written.
    const text = read('infra/deploy/k8s/config.yaml');
    const named = [...text.matchAll(/^\s*#?\s*(TEMPORAL_TLS_\w+_PATH): '([^']+)'/gm)].map((m) => ({
      name: m[1]!,
      file: m[2]!,
    }));
    expect(named.map((n) => n.name).sort()).toEqual([
      ENV.temporalTlsClientCertPath,
      ENV.temporalTlsClientKeyPath,
      ENV.temporalTlsServerCaCertPath,
    ]);
    const workers = podSpecs.filter((p) => p.kind === 'Deployment' && p.name.startsWith('fti-worker-'));
    expect(workers.length).toBe(3);
    for (const worker of workers) {
      const volume = list(worker.spec.volumes)
        .map(obj)
        .find((v) => obj(v.secret).secretName === 'fti-temporal-tls');
      const mount = list(obj(list(worker.spec.containers)[0]).volumeMounts)
        .map(obj)
        .find((m) => m.name === volume?.name);
      expect({
        worker: worker.name,
        optional: obj(volume?.secret).optional,
        readOnly: mount?.readOnly,
      }).toEqual({
        worker: worker.name,
        optional: true,
        readOnly: true,
      });
      for (const { file } of named)
        expect({
          worker: worker.name,
          file,
          mounted: file.startsWith(`${String(mount?.mountPath)}/`),
        }).toEqual({
          worker: worker.name,
          file,
          mounted: true,
        });
    }
  });

  it("each worker's activity limit is the backlog per replica KEDA targets for its queue", () => {
    const targets = new Map(
      ofKind('ScaledObject').flatMap(({ doc }) =>
        list(obj(doc.spec).triggers)
          .map((t) => obj(obj(t).metadata))
          .map((m) => [String(m.taskQueue), String(m.targetQueueSize)] as const),
      ),
    );
    const workers = podSpecs.filter((p) => p.kind === 'Deployment' && p.name.startsWith('fti-worker-'));
    for (const worker of workers) {
      const env = list(obj(list(worker.spec.containers)[0]).env).map(obj);
      const limit = env.find((e) => e.name === ENV.workerMaxConcurrentActivities)?.value;
      const queue = String(worker.labels['fti.dev/task-queue']);
      expect({ worker: worker.name, limit }).toEqual({ worker: worker.name, limit: targets.get(queue) });
    }
  });

  it('variables set on containers are read by the code', () => {
    const sources = ['core', 'workers']
      .flatMap((dir) =>
        fs
          .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
          .map((f) => path.join(dir, f)),
      )
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map(read)
      .join('\n');
    const names = containers.flatMap(({ container }) => list(container.env).map((e) => String(obj(e).name)));
    expect(names.length).toBeGreaterThan(5);
    const unread = [...new Set(names)].filter((name) => !new RegExp(`\\b${name}\\b`).test(sources));
    expect(unread).toEqual([]);
  });

  it('the image copies every folder the build compiles and skips the ONNX Runtime download', () => {
    const containerfile = read('infra/deploy/containers/worker.Containerfile');
    const build = JSON.parse(read('tsconfig.build.json')) as { include: string[]; files?: string[] };
    const copied = [...containerfile.matchAll(/^COPY ([\w./-]+) \1$/gm)].map((m) => m[1]!);
    for (const entry of [...build.include, ...(build.files ?? [])])
      expect({ entry, copied: copied.some((c) => entry === c || entry.startsWith(`${c}/`)) }).toEqual({
        entry,
        copied: true,
      });
    expect(containerfile).toMatch(/^ENV ONNXRUNTIME_NODE_INSTALL=skip$/m);
    expect(containerfile).toContain('npm run build');
    // Migrations are read from core/db/migrations at run time (core/db/migrate.ts).
    expect(containerfile).toMatch(/^COPY --from=build \/src\/core\/db\/migrations core\/db\/migrations$/m);
  });

  it('the guide names only variables the platform reads, or says whose they are', () => {
    const guide = read('docs/deploying.md');
    const ours = new Set<string>(Object.values(ENV));
    const sources = ['core', 'workers', 'cli']
      .flatMap((dir) =>
        fs
          .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
          .map((f) => path.join(dir, f)),
      )
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map(read)
      // The image's own variable (FTI_WORKER) is read by its entrypoint.
      .concat(read('infra/deploy/containers/entrypoint.sh'))
      .join('\n');
    const named = new Set(
      [...guide.matchAll(/\b((?:FTI|S3|TEMPORAL|DATABASE|NATS|LOG)_[A-Z0-9_]+)\b/g)].map((m) => m[1]!),
    );
    expect(named.size).toBeGreaterThan(10);
    const unknown = [...named].filter(
      (name) => !ours.has(name) && !new RegExp(`\\b${name}\\b`).test(sources),
    );
    expect(unknown).toEqual([]);
  });
});

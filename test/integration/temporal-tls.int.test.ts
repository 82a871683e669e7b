// Proves the Temporal TLS settings reach real connections, for both connection kinds the platform
// opens (the client's Connection and the worker's NativeConnection), without a TLS-enabled Temporal:
// a TLS-terminating proxy with a throwaway CA, server and client certificate (openssl) forwards to the
// stack's plaintext dev server, demanding a client certificate signed by that CA (mTLS).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { connectTemporal } from '../../cli/temporal-client';
import { loadConfig, temporalConnectionOptions, type FtiConfig } from '../../core/config';
import { openDatabase } from '../../core/db';
import { describeError } from '../../core/errors';

const SERVER_NAME = 'temporal.fti.test';

let dir: string;
let pem: Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string>;
let proxy: tls.Server;
let proxyAddress: string;
/** Common names of the client certificates the proxy accepted. */
const clients: string[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A certificate for `cn`, signed by the test CA, with the given extensions. */
function issue(name: string, cn: string, extensions: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  );
}

/** The platform configuration with these variables on top of the test environment. */
function configWith(vars: Record<string, string>): FtiConfig {
  return loadConfig({}, { ...process.env, ...vars });
}

/** Connects both ways and makes one call on each; returns the error text of whichever failed. */
async function tryBothConnections(config: FtiConfig): Promise<{ client: string; native: string }> {
  const outcome = { client: 'ok', native: 'ok' };
  try {
    const connection = await Connection.connect({
      ...temporalConnectionOptions(config),
      connectTimeout: 5000,
    });
    try {
      await connection.workflowService.getSystemInfo({});
    } finally {
      await connection.close();
    }
  } catch (error) {
    outcome.client = describeError(error);
  }
  try {
    const native = await NativeConnection.connect(temporalConnectionOptions(config));
    try {
      await native.workflowService.getSystemInfo({});
    } finally {
      await native.close();
    }
  } catch (error) {
    outcome.native = describeError(error);
  }
  return outcome;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-temporal-tls-'));
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=fti-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  issue('server', SERVER_NAME, `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
  issue('client', 'fti-worker', 'extendedKeyUsage=clientAuth\n');
  pem = {
    ca: path.join(dir, 'ca.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client.key'),
  };
  const upstream = loadConfig().temporalAddress;
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.split(':').pop())];
  proxy = tls.createServer(
    {
      cert: fs.readFileSync(pem.serverCert),
      key: fs.readFileSync(pem.serverKey),
      ca: fs.readFileSync(pem.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      clients.push(String(socket.getPeerCertificate().subject?.CN));
      const server = net.connect(port, host);
      socket.pipe(server).pipe(socket);
      socket.on('error', () => server.destroy());
      server.on('error', () => socket.destroy());
    },
  );
  proxy.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyAddress = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Temporal connections with TLS settings', () => {
  it('by default connect over plaintext to the dev server', async () => {
    const config = configWith({});
    expect(config.temporalTls).toBe(false);
    expect(await tryBothConnections(config)).toEqual({ client: 'ok', native: 'ok' });
  });

  it('with TEMPORAL_TLS=true fail against the plaintext dev server: TLS was attempted', async () => {
    const config = configWith({ TEMPORAL_TLS: 'true' });
    const outcome = await tryBothConnections(config);
    expect(outcome.client).not.toBe('ok');
    // The worker's connection names the TLS handshake failure itself.
    expect(outcome.native).toMatch(/InvalidContentType|tls|handshake|certificate/i);
    // What a user sees from the CLI: the target says TLS, and the hint says what to check.
    await expect(connectTemporal(config)).rejects.toThrow(
      new RegExp(
        `cannot connect to Temporal at ${config.temporalAddress.replace(/\./g, '\\.')} \\(TLS\\): .*TLS is on .*for a plaintext server \\(the local dev server\\) unset them`,
      ),
    );
  });

  it('with mTLS settings connect through a TLS server that demands the client certificate', async () => {
    const before = clients.length;
    const config = configWith({
      TEMPORAL_ADDRESS: proxyAddress,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem.ca,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pem.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pem.clientKey,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    });
    expect(config.temporalTls).toBe(true);
    expect(await tryBothConnections(config)).toEqual({ client: 'ok', native: 'ok' });
    expect(clients.slice(before)).toContain('fti-worker');
    // The CLI path too, through the same options.
    const client = await connectTemporal(config);
    await client.workflowService.getSystemInfo({});
    await client.connection.close();
  });

  it('without the client certificate, or with the wrong server name, are refused', async () => {
    const noClientCert = configWith({
      TEMPORAL_ADDRESS: proxyAddress,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem.ca,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    });
    const refused = await tryBothConnections(noClientCert);
    expect(refused.client).not.toBe('ok');
    expect(refused.native).not.toBe('ok');
    const wrongName = configWith({
      TEMPORAL_ADDRESS: proxyAddress,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem.ca,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pem.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pem.clientKey,
      TEMPORAL_TLS_SERVER_NAME: 'someone-else.test',
    });
    const mismatched = await tryBothConnections(wrongName);
    expect(mismatched.client).not.toBe('ok');
    // The worker's connection says why: the certificate is not valid for that name.
    expect(mismatched.native).toMatch(/NotValidForName|certificate/i);
  });
});

describe('FTI_DB_POOL_MAX', () => {
  it('sizes the pool of openDatabase when the caller does not', async () => {
    const saved = process.env.FTI_DB_POOL_MAX;
    process.env.FTI_DB_POOL_MAX = '3';
    try {
      const handle = await openDatabase({ url: loadConfig().databaseUrl });
      expect(handle.pool.options.max).toBe(3);
      await handle.close();
      const explicit = await openDatabase({ url: loadConfig().databaseUrl, maxConnections: 1 });
      expect(explicit.pool.options.max).toBe(1);
      await explicit.close();
    } finally {
      if (saved === undefined) delete process.env.FTI_DB_POOL_MAX;
      else process.env.FTI_DB_POOL_MAX = saved;
    }
  });
});

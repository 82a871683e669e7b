import fs from 'node:fs';
import { ConfigError } from '../errors';
import type { FtiConfig } from './config';
import { ENV } from './env-names';

/**
 * What every Temporal connection of the platform is opened with. Structurally the shared part of the
 * SDK's `ConnectionOptions` (`@temporalio/client`) and `NativeConnectionOptions`
 * (`@temporalio/worker`), so one value serves clients and workers; core/ does not import Temporal.
 */
export interface TemporalConnectionOptions {
  /** Frontend gRPC `host:port` (TEMPORAL_ADDRESS). */
  readonly address: string;
  /** Present exactly when TLS is on; absent means plaintext gRPC. */
  readonly tls?: {
    /** Name the server certificate must carry (SNI), when it differs from the address's host. */
    readonly serverNameOverride?: string;
    /** PEM CA certificate(s) to trust instead of the system's. */
    readonly serverRootCACertificate?: Buffer;
    /** mTLS client certificate and key, PEM. */
    readonly clientCertPair?: { readonly crt: Buffer; readonly key: Buffer };
  };
  /** Temporal Cloud API key, sent as `Authorization: Bearer …` (only ever with TLS). */
  readonly apiKey?: string;
}

/**
 * The connection options for `Connection.connect` and `NativeConnection.connect` from the resolved
 * configuration: the address, TLS (server CA, server name, mTLS pair) when `config.temporalTls`, and
 * the API key. Certificate files are read now, so a connection opened after a certificate was
 * rotated on disk uses the new one. Throws {@link ConfigError} naming the variable when a file has
 * become unreadable since {@link loadConfig} checked it; never includes file contents or the key.
 */
export function temporalConnectionOptions(config: FtiConfig): TemporalConnectionOptions {
  if (!config.temporalTls) return { address: config.temporalAddress };
  const read = (key: keyof typeof ENV & keyof FtiConfig, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new ConfigError(
        `${ENV[key]}=${file} cannot be read (${code}): mount the file there, or fix the path.`,
      );
    }
  };
  const tls: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  } = {};
  if (config.temporalTlsServerName !== '') tls.serverNameOverride = config.temporalTlsServerName;
  if (config.temporalTlsServerCaCertPath !== '')
    tls.serverRootCACertificate = read('temporalTlsServerCaCertPath', config.temporalTlsServerCaCertPath);
  if (config.temporalTlsClientCertPath !== '' && config.temporalTlsClientKeyPath !== '')
    tls.clientCertPair = {
      crt: read('temporalTlsClientCertPath', config.temporalTlsClientCertPath),
      key: read('temporalTlsClientKeyPath', config.temporalTlsClientKeyPath),
    };
  return {
    address: config.temporalAddress,
    tls,
    ...(config.temporalApiKey !== '' ? { apiKey: config.temporalApiKey } : {}),
  };
}

/**
 * How the platform reaches Temporal, for messages: the address plus `(TLS, mTLS, API key)` or
 * `(plaintext)`. Names which credentials are used, never their values.
 */
export function describeTemporalTarget(config: FtiConfig): string {
  if (!config.temporalTls) return `${config.temporalAddress} (plaintext)`;
  const parts = ['TLS'];
  if (config.temporalTlsClientCertPath !== '') parts.push('mTLS client certificate');
  if (config.temporalApiKey !== '') parts.push('API key');
  return `${config.temporalAddress} (${parts.join(', ')})`;
}

/**
 * The advice to append when a Temporal connection fails, about the TLS side: with TLS on, what to
 * check (a plaintext server answers a TLS handshake with a failure or a timeout); with TLS off, how to
 * turn it on for a server that requires it.
 */
export function temporalTlsHint(config: FtiConfig): string {
  return config.temporalTls
    ? `TLS is on (${ENV.temporalTls}, ${ENV.temporalApiKey} or a ${ENV.temporalTls}_* setting): check that the server speaks TLS on that port and that its certificate is signed by ${ENV.temporalTlsServerCaCertPath} (or a public CA) for the address's host or ${ENV.temporalTlsServerName}; for a plaintext server (the local dev server) unset them`
    : `the connection is plaintext: for a server that requires TLS (Temporal Cloud, mTLS) set ${ENV.temporalTls}=true, ${ENV.temporalApiKey}, or ${ENV.temporalTlsClientCertPath} and ${ENV.temporalTlsClientKeyPath}`;
}

/**
 * `stowage serve`: an HTTP(S) server around the registry handler.
 *
 * Contract:
 * - Listens on 127.0.0.1 by default. Any other address (a non-loopback interface, 0.0.0.0,
 *   ::) requires TLS (cert and key) AND credentials (htpasswd or bearer token): otherwise
 *   INVALID_ARGUMENT and nothing listens.
 * - `close()` stops accepting, ends idle keep-alive connections and aborts blob streams in
 *   progress, then resolves.
 * - Blob reads of all requests share `readSlots` windows of shared memory (blob-reader.ts
 *   ReadRings), decoded by `codecWorkers` threads: the server's memory is bounded by them,
 *   not by the number of clients (four pulls of a 398 MB image at once: about 165 MB RSS).
 * - A client that takes none of a blob's bytes for `idleTimeoutMs` while a write to it is
 *   pending is disconnected, and its window slots go back to the other requests; a client
 *   that disconnects releases its slots at once. A slow client that keeps taking bytes is
 *   not cut off, and waiting for a free slot is not idleness.
 * - The caller keeps the repository open (and holds a shared lock, so gc cannot delete what
 *   is being served) for as long as the server runs.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { StowageError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { Authenticator, type AuthConfig } from './auth.js';
import { isLoopbackHost } from './client.js';
import { readRings } from './blob-reader.js';
import { RegistryCatalog } from './catalog.js';
import { registryHandler, type RequestEvent } from './handler.js';

export interface ServeOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 5000; 0 picks a free port. */
  readonly port?: number;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly auth?: AuthConfig;
  /** Platform preferred when several images of a snapshot share a tag (default linux/amd64). */
  readonly platform?: string;
  /** Plaintext window of a blob read (default 2 MiB: 1 MiB windows cost ~15% more CPU per pull, blobs and frames that straddle windows being decoded twice). */
  readonly windowBytes?: number;
  /** Blob windows read at once across all requests (default 3, at least 1): bounds the server's memory. */
  readonly readSlots?: number;
  /** Codec worker threads decoding blobs (default 1: one worker keeps a pull at the registry's pace; each more costs about 10-40 MB; 0 decodes on the main thread). */
  readonly codecWorkers?: number;
  /** Disconnect a client that takes no bytes of a pending write for this long (default 60 s). */
  readonly idleTimeoutMs?: number;
  readonly onEvent?: (e: RequestEvent) => void;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:5000 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly catalog: RegistryCatalog;
  close(): Promise<void>;
}

export async function startRegistryServer(repo: Repository, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const hasAuth = opts.auth !== undefined && (opts.auth.htpasswd !== undefined || opts.auth.token !== undefined);
  if (!isLoopbackHost(host) && (!opts.tls || !hasAuth)) {
    const missing = [...(!opts.tls ? ['TLS (--tls-cert and --tls-key)'] : []), ...(!hasAuth ? ['credentials (--htpasswd or --token-file)'] : [])];
    throw new StowageError('INVALID_ARGUMENT', `refusing to serve on ${host}: a non-loopback address needs ${missing.join(' and ')}`);
  }
  if (opts.tls && (!opts.tls.cert || !opts.tls.key)) throw new StowageError('INVALID_ARGUMENT', 'TLS needs both a certificate and a key');
  const auth = hasAuth ? new Authenticator(opts.auth!) : undefined;
  const catalog = new RegistryCatalog(repo, opts.platform ? { platform: opts.platform } : {});
  await catalog.refresh();
  // one codec pool and one set of shared window slots for every request: memory stays bounded
  // by the slots whatever the number of pulls (a request waits for a free slot)
  const pool = repo.codecs(opts.codecWorkers ?? 1);
  const rings = readRings(repo, Math.max(1, opts.readSlots ?? 3), opts.windowBytes ?? 2 * 1024 * 1024);
  const handler = registryHandler(repo, catalog, { pool, rings, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000, ...(auth && { auth }), ...(opts.onEvent && { onEvent: opts.onEvent }) });
  let server: http.Server | https.Server;
  try {
    server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  } catch (err) {
    throw new StowageError('INVALID_ARGUMENT', `TLS certificate or key unusable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new StowageError(
          err.code === 'EADDRINUSE' ? 'INVALID_ARGUMENT' : 'BACKEND',
          `cannot listen on ${host}:${opts.port ?? 5000}: ${err.code === 'EADDRINUSE' ? 'the address is in use' : err.message}`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen(opts.port ?? 5000, host.replace(/^\[|\]$/g, ''), () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${shown}:${addr.port}`,
    host: addr.address,
    port: addr.port,
    catalog,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

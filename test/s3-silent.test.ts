/**
 * An S3 endpoint that accepts connections and never answers (a stuck or full Ceph RGW does
 * this: it reads the request and waits on its OSDs) must not hold a command: SIGINT/SIGTERM
 * end it at once, whatever request is in flight, with the interrupted exit code. Needs no S3
 * server: the silent endpoint is a plain TCP listener that reads requests and never answers.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, sandbox, type Sandbox } from './helpers/cli.js';

const EXIT_INTERRUPTED = 130;

describe('a silent S3 endpoint', () => {
  let sb: Sandbox;
  let server: net.Server;
  let port = 0;
  const sockets: net.Socket[] = [];
  const requests: string[] = [];
  beforeAll(async () => {
    sb = sandbox();
    server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
      s.once('data', (d: Buffer) => requests.push(d.toString('latin1').split('\r\n')[0]!));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    sb.cleanup();
  });

  /** Runs a command against the silent endpoint, sends `signal` once its first request arrived. */
  function interrupted(args: string[], signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string; ms: number; request: string }> {
    const before = requests.length;
    return new Promise((resolve) => {
      const env = { ...sb.env, STOWAGE_REPOSITORY: `s3:http://127.0.0.1:${port}/silent-bucket`, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1' };
      const p = spawn(process.execPath, [BIN, ...args], { env });
      let stderr = '';
      let sentAt = 0;
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setInterval(() => {
        if (requests.length > before && !sentAt) {
          sentAt = Date.now();
          p.kill(signal);
        }
      }, 5);
      p.on('close', (code) => {
        clearInterval(t);
        resolve({ code, stderr, ms: sentAt ? Date.now() - sentAt : -1, request: requests[before] ?? '' });
      });
    });
  }

  it.each([
    ['init', ['init'], 'SIGTERM'],
    ['snapshots', ['snapshots'], 'SIGINT'],
  ] as const)('%s: the signal aborts the request in flight; exit 130 within a second', async (_name, args, signal) => {
    const r = await interrupted([...args], signal);
    expect(r.request).toMatch(/^(GET|HEAD|PUT) \/silent-bucket/);
    expect(r.ms).toBeGreaterThanOrEqual(0);
    expect(r.ms).toBeLessThan(1500);
    expect(r.code).toBe(EXIT_INTERRUPTED);
    expect(r.stderr).toMatch(/interrupted/);
    expect(r.stderr).not.toMatch(/this is a bug/i);
  });
});

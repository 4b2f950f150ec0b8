/**
 * The direct GET client's framing against a scripted HTTP server on loopback (the S3 backend
 * suite runs it against Ceph RGW, backend.test.ts with STOWAGE_TEST_S3): bodies land in the
 * caller's buffer however the server splits them, keep-alive connections are reused, error
 * answers carry their body, other shapes ask for the regular path, and a closed, stalled or
 * aborted exchange fails with a socket error.
 */
import * as net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { DirectGets, FallbackError, HttpStatusError } from './s3-direct-get.js';

type Answer = (socket: net.Socket, request: string) => void;

let server: net.Server | undefined;
let client: DirectGets | undefined;
afterEach(async () => {
  client?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server answering the n-th request (over all connections) with answers[n]; counts connections. */
async function serve(answers: Answer[], idleTimeoutMs = 5000): Promise<{ connections: () => number }> {
  let n = 0;
  let conns = 0;
  server = net.createServer((socket) => {
    conns++;
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        const req = buf.slice(0, buf.indexOf('\r\n\r\n'));
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        answers[n++]?.(socket, req);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  client = new DirectGets('127.0.0.1', (server.address() as net.AddressInfo).port, { connectTimeoutMs: 2000, idleTimeoutMs });
  return { connections: () => conns };
}

const ok =
  (body: Buffer, pieces = 1): Answer =>
  (socket) => {
    socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nContent-Range: bytes 0-${body.length - 1}/999999\r\n\r\n`);
    const step = Math.ceil(body.length / pieces);
    for (let i = 0; i < body.length; i += step) socket.write(body.subarray(i, i + step));
  };
const get = 'GET /b/k HTTP/1.1\r\nhost: x\r\nrange: bytes=0-9\r\n\r\n';

it('reads the body into the target, split any way, and reuses the connection', async () => {
  const a = Buffer.alloc(300_000, 1).fill(7, 100_000);
  const b = Buffer.from('hello');
  const s = await serve([ok(a, 37), ok(b)]);
  const t1 = Buffer.alloc(a.length);
  const r = await client!.get(get, t1);
  expect(r).toEqual({ status: 206, contentLength: a.length, contentRange: `bytes 0-${a.length - 1}/999999` });
  expect(t1.equals(a)).toBe(true);
  const t2 = Buffer.alloc(10, 0xee);
  expect((await client!.get(get, t2)).contentLength).toBe(5);
  expect(t2.subarray(0, 5).toString()).toBe('hello');
  expect(t2[5]).toBe(0xee); // nothing past the body
  expect(s.connections()).toBe(1);
});

it('an error answer is an HttpStatusError with its body; the connection stays usable', async () => {
  const xml = '<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>';
  const s = await serve([(sock) => sock.write(`HTTP/1.1 404 Not Found\r\nContent-Length: ${xml.length}\r\n\r\n${xml}`), ok(Buffer.from('x'))]);
  const err = (await client!.get(get, Buffer.alloc(10)).catch((e: unknown) => e)) as HttpStatusError;
  expect(err).toBeInstanceOf(HttpStatusError);
  expect(err.status).toBe(404);
  expect(err.body.toString()).toBe(xml);
  expect((await client!.get(get, Buffer.alloc(1))).contentLength).toBe(1);
  expect(s.connections()).toBe(1);
});

it('a chunked answer, or one without a length, asks for the regular path', async () => {
  await serve([(sock) => sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'), (sock) => sock.end('HTTP/1.1 200 OK\r\n\r\nhello')]);
  await expect(client!.get(get, Buffer.alloc(10))).rejects.toBeInstanceOf(FallbackError);
  await expect(client!.get(get, Buffer.alloc(10))).rejects.toBeInstanceOf(FallbackError);
});

it('a body longer than the target, or cut short, fails with ECONNRESET', async () => {
  await serve([ok(Buffer.alloc(20)), (sock) => sock.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')]);
  await expect(client!.get(get, Buffer.alloc(10))).rejects.toMatchObject({ code: 'ECONNRESET' });
  await expect(client!.get(get, Buffer.alloc(10))).rejects.toMatchObject({ code: 'ECONNRESET' });
});

it('a kept-alive connection the server closed is replaced once, without an error', async () => {
  const s = await serve([
    (sock) => {
      ok(Buffer.from('a'))(sock, '');
      sock.end();
    },
    ok(Buffer.from('b')),
  ]);
  expect((await client!.get(get, Buffer.alloc(1))).contentLength).toBe(1);
  await new Promise((r) => setTimeout(r, 50)); // the close arrives
  const t = Buffer.alloc(1);
  await client!.get(get, t);
  expect(t.toString()).toBe('b');
  expect(s.connections()).toBe(2);
});

it('a stalled answer times out (ETIMEDOUT); an aborted one fails with AbortError', async () => {
  await serve([(sock) => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'), () => undefined], 200);
  await expect(client!.get(get, Buffer.alloc(10))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  await expect(client!.get(get, Buffer.alloc(10), ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
});

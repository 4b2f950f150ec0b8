#!/usr/bin/env node
/**
 * s3-requests-bench.ts — CPU per S3 request: the backend's lean requests (SigV4-signed Node
 * http, packages/core/src/backend/s3-request.ts) against the same requests through the AWS
 * SDK's client (STOWAGE_S3_SDK_REQUESTS=true, S3Settings.leanRequests false).
 *
 * Starts a throwaway Ceph RGW (scripts/ceph-rgw-start.sh), writes `--packs` packs of 16 MiB
 * through the backend (openBackend: retries, connection limit, S3), then reads `--gets` ranged
 * GETs of `--size` bytes, `--connections` at once, into preallocated buffers (as a restore
 * does), alternating the two paths `--rounds` times after a warm-up round of each. Reports wall
 * time and this process's CPU (user + system) per GET; stops the cluster.
 *
 *   node native-bench/dist/s3-requests-bench.js [--gets 400] [--size 262144] [--connections 8] [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openBackend, type Backend } from '@stowage/core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: {
    gets: { type: 'string', default: '400' },
    size: { type: 'string', default: String(256 * 1024) },
    connections: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    packs: { type: 'string', default: '6' },
  },
});
const GETS = Number(values.gets);
const SIZE = Number(values.size);
const CONN = Number(values.connections);
const PACK = 16 << 20;

async function readAll(b: Backend, names: string[]): Promise<{ seconds: number; cpuSeconds: number }> {
  const jobs: { name: string; offset: number }[] = [];
  for (let i = 0; jobs.length < GETS; i++) jobs.push({ name: names[i % names.length]!, offset: (i * 3 * SIZE) % (PACK - SIZE) });
  const targets = Array.from({ length: CONN }, () => new Uint8Array(SIZE));
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    targets.map(async (t) => {
      while (next < jobs.length) {
        const j = jobs[next++]!;
        await b.loadInto!({ type: 'pack', name: j.name }, { offset: j.offset, length: SIZE }, t);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-s3-requests-'));
  const state = join(work, 'ceph');
  const start = spawnSync('bash', [join(ROOT, 'scripts/ceph-rgw-start.sh'), state], { env: { ...process.env, MEMSTORE_BYTES: String(2 * 2 ** 30) }, encoding: 'utf8' });
  if (start.status !== 0) throw new Error(`ceph-rgw-start failed: ${start.stdout}${start.stderr}`);
  try {
    const url = new URL(
      readFileSync(join(state, 'env'), 'utf8')
        .trim()
        .replace(/^STOWAGE_TEST_S3=/, ''),
    );
    const credentials = { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) };
    const open = (leanRequests: boolean) => openBackend(`s3:${url.origin}/bench`, { s3: { credentials, region: 'us-east-1', connections: CONN, leanRequests, env: {} } });
    const writer = await open(true);
    await writer.create();
    const names: string[] = [];
    for (let i = 0; i < Number(values.packs); i++) {
      const name = `${i.toString(16).padStart(2, '0')}${'0'.repeat(62)}`;
      await writer.save({ type: 'pack', name }, Buffer.alloc(PACK, i + 1));
      names.push(name);
    }
    await writer.close();
    const paths = { lean: await open(true), sdk: await open(false) };
    for (const b of Object.values(paths)) await readAll(b, names); // warm-up: connections, JIT, the SDK loaded
    const rows: Record<string, { seconds: number; cpuSeconds: number }[]> = { lean: [], sdk: [] };
    for (let r = 0; r < Number(values.rounds); r++) for (const [k, b] of Object.entries(paths)) rows[k]!.push(await readAll(b, names));
    for (const b of Object.values(paths)) await b.close();
    console.log(`${GETS} ranged GETs of ${SIZE} bytes, ${CONN} at once, per round (load ${loadavg()[0]!.toFixed(1)} on 2 CPUs)`);
    for (const [k, rs] of Object.entries(rows)) {
      console.log(`${k.padEnd(5)} ${rs.map((x) => `${x.seconds.toFixed(2)} s wall, ${x.cpuSeconds.toFixed(2)} CPU-s = ${((x.cpuSeconds / GETS) * 1000).toFixed(2)} ms per GET`).join('; ')}`);
    }
  } finally {
    spawnSync('bash', [join(ROOT, 'scripts/ceph-rgw-stop.sh'), state]);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});

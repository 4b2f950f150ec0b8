/**
 * Every backend passes the same conformance suite; local-only durability details below.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it, vi } from 'vitest';
import { backendSuite } from '../testing/backend-suite.js';
import { LocalBackend, SMALL_FILE_BYTES } from './local.js';
import { MemoryBackend } from './memory.js';

backendSuite('memory', async () => ({ backend: new MemoryBackend(), cleanup: async () => undefined }));

backendSuite('local', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-backend-'));
  return { backend: new LocalBackend(path.join(dir, 'repo')), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

it('local: files are read-only, in the documented layout, and no temp files remain', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-backend-'));
  try {
    const b = new LocalBackend(dir);
    await b.create();
    await b.save({ type: 'pack', name: 'abcdef01' }, Buffer.from('pack bytes'));
    await b.save({ type: 'snapshot', name: 's1' }, Buffer.from('{}'));
    const packFile = path.join(dir, 'data', 'ab', 'abcdef01');
    expect(fs.readFileSync(packFile, 'utf8')).toBe('pack bytes');
    expect(fs.statSync(packFile).mode & 0o222).toBe(0);
    expect(fs.existsSync(path.join(dir, 'snapshots', 's1'))).toBe(true);
    const leftovers = fs.readdirSync(path.join(dir, 'data', 'ab')).filter((f) => f.startsWith('.'));
    expect(leftovers).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('local: every file is fsynced with its directory when saved and when removed, but lock files (they only guard a live process)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-backend-'));
  // small files are fsynced with fs.fsync (the rest of their save is synchronous), large ones through a FileHandle
  const probe = await fsp.open(path.join(dir, 'probe'), 'w');
  const handleSync = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync');
  await probe.close();
  const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
  const fdSync = vi.spyOn(cjsFs, 'fsync');
  syncBuiltinESMExports();
  try {
    const b = new LocalBackend(path.join(dir, 'repo'));
    await b.create();
    const fsyncs = async (op: () => Promise<unknown>): Promise<number> => {
      handleSync.mockClear();
      fdSync.mockClear();
      await op();
      return handleSync.mock.calls.length + fdSync.mock.calls.length;
    };
    expect(await fsyncs(() => b.save({ type: 'snapshot', name: 's1' }, Buffer.from('{}')))).toBe(2); // the file, its directory
    expect(await fsyncs(() => b.save({ type: 'index', name: 'i1' }, Buffer.alloc(SMALL_FILE_BYTES + 1, 7)))).toBe(2);
    expect(await fsyncs(() => b.save({ type: 'pack', name: 'abcdef01' }, Buffer.from('pack')))).toBe(2);
    expect(await fsyncs(() => b.remove({ type: 'snapshot', name: 's1' }))).toBe(1);
    expect(await fsyncs(() => b.save({ type: 'lock', name: 'l1' }, Buffer.from('lock')))).toBe(0);
    expect(await fsyncs(() => b.save({ type: 'lock', name: 'l1' }, Buffer.from('lock 2'), { overwrite: true }))).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'repo', 'locks', 'l1'), 'utf8')).toBe('lock 2');
    expect(fs.statSync(path.join(dir, 'repo', 'locks', 'l1')).mode & 0o222).toBe(0);
    expect(await fsyncs(() => b.remove({ type: 'lock', name: 'l1' }))).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'repo', 'locks'))).toEqual([]);
    expect(Buffer.from(await b.load({ type: 'index', name: 'i1' })).equals(Buffer.alloc(SMALL_FILE_BYTES + 1, 7))).toBe(true);
  } finally {
    handleSync.mockRestore();
    fdSync.mockRestore();
    syncBuiltinESMExports();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('local: a small file whose save fails leaves nothing behind, and an existing name is kept (ALREADY_EXISTS)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-backend-'));
  try {
    const b = new LocalBackend(path.join(dir, 'repo'));
    await b.create();
    await b.save({ type: 'snapshot', name: 's1' }, Buffer.from('first'));
    await expect(b.save({ type: 'snapshot', name: 's1' }, Buffer.from('second'))).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const ac = new AbortController();
    ac.abort();
    await expect(b.save({ type: 'snapshot', name: 's2' }, Buffer.from('x'), { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(fs.readdirSync(path.join(dir, 'repo', 'snapshots'))).toEqual(['s1']);
    expect(fs.readFileSync(path.join(dir, 'repo', 'snapshots', 's1'), 'utf8')).toBe('first');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('local createTemp: appended bytes are invisible until commit, then a read-only file of that name; taken names, discard and leftovers', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-backend-'));
  try {
    const b = new LocalBackend(dir);
    await b.create();
    const t = await b.createTemp('pack');
    await t.append([Buffer.from('pack '), Buffer.from('by')]);
    await t.append([Buffer.from('tes')]);
    const names = async () => {
      const out: string[] = [];
      for await (const f of b.list('pack')) out.push(f.name);
      return out;
    };
    expect(await names()).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'data')).filter((f) => f.startsWith('.tmp-'))).toHaveLength(1);
    await t.commit('abcdef02');
    const packFile = path.join(dir, 'data', 'ab', 'abcdef02');
    expect(fs.readFileSync(packFile, 'utf8')).toBe('pack bytes');
    expect(fs.statSync(packFile).mode & 0o222).toBe(0);
    expect(await names()).toEqual(['abcdef02']);
    // a taken name: ALREADY_EXISTS, the file unchanged, the temporary gone
    const again = await b.createTemp('pack');
    await again.append([Buffer.from('other')]);
    await expect(again.commit('abcdef02')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(fs.readFileSync(packFile, 'utf8')).toBe('pack bytes');
    const dropped = await b.createTemp('pack');
    await dropped.append([Buffer.from('dropped')]);
    await dropped.discard();
    expect(fs.readdirSync(path.join(dir, 'data')).filter((f) => f.startsWith('.'))).toEqual([]);
    // a crashed writer's temporary: removeTemporary clears it
    await (await b.createTemp('pack')).append([Buffer.from('crashed')]);
    expect(await b.removeTemporary(['pack'])).toBe(1);
    expect(fs.readdirSync(path.join(dir, 'data')).filter((f) => f.startsWith('.'))).toEqual([]);
    await b.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

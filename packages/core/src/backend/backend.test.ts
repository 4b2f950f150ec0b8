/**
 * Every backend passes the same conformance suite; local-only durability details below.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { backendSuite } from '../testing/backend-suite.js';
import { LocalBackend } from './local.js';
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

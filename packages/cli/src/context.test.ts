import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Level } from 'level';
import { LocalBackend, Repository, TEST_KDF } from '@stowage/core';
import { afterAll, describe, expect, it } from 'vitest';
import { withRepo, type Context, type RepoOpening } from './context.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-context-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A context whose password is read from `passwordFile` (a FIFO here: the open waits for it). */
function context(repo: string, cacheDir: string, passwordFile: string): Context {
  const nothing = (): void => undefined;
  return {
    opts: { repo, cacheDir, passwordFile },
    signal: new AbortController().signal,
    stdout: process.stdout,
    stderr: process.stderr,
    out: nothing,
    say: nothing,
    info: nothing,
    verbose: nothing,
    warn: nothing,
    json: nothing,
  } as unknown as Context;
}

/** True when this process cannot open the LevelDB at `location` because it holds it already. */
async function held(location: string): Promise<boolean> {
  const db = new Level(location);
  try {
    await db.open();
    await db.close();
    return false;
  } catch (err) {
    return /lock/i.test(String((err as { cause?: unknown }).cause ?? err));
  }
}

describe('withRepo', () => {
  it('index: the index cache is open while the password is still awaited (before the key); without it, not', async () => {
    const location = path.join(dir, 'repo');
    const cacheDir = path.join(dir, 'cache');
    const made = await Repository.init(new LocalBackend(location), { password: 'pw', kdf: TEST_KDF, cacheRoot: cacheDir });
    await made.lookup([Buffer.alloc(32)]);
    await made.close();
    const slot = path.join(cacheDir, made.config.id, 'index-0');
    for (const how of [{ index: true }, {}] as RepoOpening[]) {
      const fifo = path.join(dir, `pw-${String(how.index)}`);
      execFileSync('mkfifo', [fifo]);
      let heldMeanwhile: boolean | undefined;
      const giving = (async () => {
        await new Promise((r) => setTimeout(r, 300)); // withRepo reads the config and waits on the FIFO
        heldMeanwhile = await held(slot);
        fs.writeFileSync(fifo, 'pw\n');
      })();
      const found = await withRepo(context(location, cacheDir, fifo), how, (repo) => repo.lookup([Buffer.alloc(32)]));
      await giving;
      expect(found).toEqual([undefined]);
      expect(heldMeanwhile).toBe(how.index === true);
    }
  });
});

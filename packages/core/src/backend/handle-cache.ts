/**
 * Open read handles of immutable files, reused across ranged reads.
 *
 * A restore or check reads many ranges of the same few packs in quick succession; opening
 * and closing the file for each range cost about 0.1 s of main-thread time per 400 MB
 * restored. Handles stay open while in use and for IDLE_MS after, at most MAX_IDLE of
 * them idle at once. Only for files that never change once written (packs: the name is
 * the hash of the bytes), so a cached handle reads the same bytes the path would; the
 * owner evicts a file it removes.
 */
import * as fs from 'node:fs/promises';

const MAX_IDLE = 16;
const IDLE_MS = 1000;

interface Entry {
  readonly fh: Promise<fs.FileHandle>;
  users: number;
  timer: NodeJS.Timeout | undefined;
  evicted: boolean;
}

export class HandleCache {
  private readonly entries = new Map<string, Entry>();

  /** Runs `fn` with an open read handle of `file` (ENOENT and such reject as fs.open does). */
  async with<T>(file: string, fn: (fh: fs.FileHandle) => Promise<T>): Promise<T> {
    let e = this.entries.get(file);
    if (!e) {
      e = { fh: fs.open(file, 'r'), users: 0, timer: undefined, evicted: false };
      this.entries.set(file, e);
      e.fh.catch(() => this.drop(file, e!));
    }
    e.users++;
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    try {
      return await fn(await e.fh);
    } finally {
      e.users--;
      if (e.users === 0) this.idle(file, e);
    }
  }

  /** Closes the handle of `file` once unused (call when the file is removed). */
  evict(file: string): void {
    const e = this.entries.get(file);
    if (!e) return;
    e.evicted = true;
    if (e.users === 0) this.drop(file, e);
  }

  /** Closes every handle (waits for none in use: callers close after their reads). */
  async close(): Promise<void> {
    const all = [...this.entries];
    this.entries.clear();
    await Promise.all(all.map(([, e]) => (clearTimeout(e.timer), e.fh.then((fh) => fh.close()).catch(() => undefined))));
  }

  private idle(file: string, e: Entry): void {
    if (e.evicted) return this.drop(file, e);
    e.timer = setTimeout(() => this.drop(file, e), IDLE_MS);
    e.timer.unref();
    let idle = 0;
    for (const x of this.entries.values()) if (x.users === 0) idle++;
    if (idle <= MAX_IDLE) return;
    for (const [f, x] of this.entries) {
      if (x.users === 0 && x !== e) {
        this.drop(f, x);
        break;
      }
    }
  }

  private drop(file: string, e: Entry): void {
    if (this.entries.get(file) === e) this.entries.delete(file);
    if (e.timer) clearTimeout(e.timer);
    e.fh.then((fh) => fh.close()).catch(() => undefined);
  }
}

/**
 * The one front door of every storage backend (abstract-level's public-method/private-hook
 * design): the public methods of `AbstractBackend` check their arguments, the abort signal
 * and the result, and map errors once; then they call the implementation's protected hooks
 * (`_save`, `_load`, `_loadInto`, `_stat`, `_exists`, `_list`, `_remove`, `_isEmpty`,
 * `_create`, `_removeTemporary`, `_close`). A hook receives only valid arguments and may throw
 * anything: the front door turns what it throws into a StowageError through `mapError`.
 *
 * What the front door guarantees, for local, memory and S3 alike:
 * - Names: `checkName` (no separators, no dot files, nothing that escapes the layout) before
 *   any hook runs; a bad name or file type is a TypeError (a programmer mistake).
 * - Ranges: non-negative safe integers (else RangeError); a `loadInto` target at least as long
 *   as the range. A zero-length range reads nothing but still needs the file (NOT_FOUND) and
 *   may not start past its end (CORRUPT). A hook that returns fewer bytes than asked is CORRUPT,
 *   never a silent short read.
 * - Signals: an aborted signal fails the call before any hook runs, and a call that fails after
 *   its signal fired fails with the signal's reason when that is a StowageError (a lost lock:
 *   LOCKED), else ABORTED. A listing checks the signal before every entry it hands out.
 * - Errors: whatever a hook throws leaves as a StowageError (`mapError`, which a backend
 *   overrides with its own table, e.g. errno codes or S3 errors), TypeError and RangeError
 *   excepted.
 *
 * Wrappers (`retrying`, `limited`, `faulty`) are plain `Backend` objects around a backend
 * that has this front door; they need none of their own.
 */
import { StowageError, abortedError, isStowageError } from '../errors.js';
import type { Backend, BackendInfo, FileInfo, FileType, Handle, OpOptions, Range, RemoveOptions, SaveOptions } from './backend.js';
import { FILE_TYPES } from './backend.js';
import { checkName, pathOf } from './layout.js';

/** What the hooks receive: options always present. */
type Opts = OpOptions;

export abstract class AbstractBackend implements Backend {
  abstract readonly info: BackendInfo;

  // ---- the front door -------------------------------------------------------------------

  async save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void> {
    return this.saveParts(h, [data], opts);
  }

  async saveParts(h: Handle, parts: readonly Uint8Array[], opts: SaveOptions = {}): Promise<void> {
    // one funnel for a backend that joins parts anyway: everything goes through `save`
    if (!this.writesParts && parts.length !== 1) return this.save(h, Buffer.concat(parts), opts);
    checkName(h);
    await this.guard('save', h, opts.signal, () => this._save(h, parts, opts));
  }

  async load(h: Handle, range?: Range, opts: OpOptions = {}): Promise<Uint8Array> {
    checkName(h);
    if (!range) return this.guard('load', h, opts.signal, () => this._load(h, undefined, opts));
    checkRange(range);
    if (range.length === 0) {
      await this.emptyRange(h, range, opts);
      return new Uint8Array(0);
    }
    const out = await this.guard('load', h, opts.signal, () => this._load(h, range, opts));
    if (out.length !== range.length) throw shortRead(h, range, out.length);
    return out;
  }

  async loadInto(h: Handle, range: Range, target: Uint8Array, opts: OpOptions = {}): Promise<void> {
    checkName(h);
    checkRange(range);
    if (target.length < range.length) throw new RangeError(`target of ${target.length} bytes for a range of ${range.length}`);
    if (range.length === 0) return this.emptyRange(h, range, opts);
    await this.guard('load', h, opts.signal, () => this._loadInto(h, range, target.subarray(0, range.length), opts));
  }

  async stat(h: Handle, opts: OpOptions = {}): Promise<{ readonly size: number }> {
    checkName(h);
    return this.guard('stat', h, opts.signal, () => this._stat(h, opts));
  }

  async exists(h: Handle, opts: OpOptions = {}): Promise<boolean> {
    checkName(h);
    return this.guard('stat', h, opts.signal, () => this._exists(h, opts));
  }

  list(type: FileType, opts: OpOptions = {}): AsyncIterable<FileInfo> {
    checkType(type);
    return this.listChecked(type, opts);
  }

  async remove(h: Handle, opts: RemoveOptions = {}): Promise<void> {
    checkName(h);
    try {
      await this.guard('remove', h, opts.signal, () => this._remove(h, opts));
    } catch (err) {
      if (!(opts.missingOk && isStowageError(err, 'NOT_FOUND'))) throw err;
    }
  }

  async isEmpty(opts: OpOptions = {}): Promise<boolean> {
    return this.guard('list', undefined, opts.signal, () => this._isEmpty(opts));
  }

  async create(opts: OpOptions = {}): Promise<void> {
    await this.guard('create', undefined, opts.signal, () => this._create(opts));
  }

  async removeTemporary(types: readonly FileType[], opts: OpOptions = {}): Promise<number> {
    types.forEach(checkType);
    return this.guard('remove temporary files of', undefined, opts.signal, () => this._removeTemporary(types, opts));
  }

  async close(): Promise<void> {
    await this.guard('close', undefined, undefined, () => this._close());
  }

  /**
   * Whether `_save` writes parts without joining them first (local, S3). When false, `saveParts`
   * joins them and calls `save`, so every write passes through `save` (memory).
   */
  protected readonly writesParts: boolean = true;

  // ---- hooks ----------------------------------------------------------------------------

  /** Stores `parts` (consecutive bytes of one file) atomically under `h`; see Backend.save. */
  protected abstract _save(h: Handle, parts: readonly Uint8Array[], opts: SaveOptions): Promise<void>;
  /** The whole file, or `range` of it (length > 0). */
  protected abstract _load(h: Handle, range: Range | undefined, opts: Opts): Promise<Uint8Array>;
  /** Reads `range` (length > 0) into `target` (exactly range.length bytes); default: `_load` and copy. */
  protected async _loadInto(h: Handle, range: Range, target: Uint8Array, opts: Opts): Promise<void> {
    const data = await this._load(h, range, opts);
    if (data.length !== range.length) throw shortRead(h, range, data.length);
    target.set(data);
  }
  protected abstract _stat(h: Handle, opts: Opts): Promise<{ readonly size: number }>;
  /** Default: `_stat`, with NOT_FOUND as false. */
  protected async _exists(h: Handle, opts: Opts): Promise<boolean> {
    try {
      await this._stat(h, opts);
      return true;
    } catch (err) {
      if (isStowageError(this.mapError(err, 'stat', h), 'NOT_FOUND')) return false;
      throw err;
    }
  }
  protected abstract _list(type: FileType, opts: Opts): AsyncIterable<FileInfo>;
  /** `opts.missingOk`: the caller ignores NOT_FOUND (remove swallows it), so a hook may skip telling it apart. */
  protected abstract _remove(h: Handle, opts: RemoveOptions): Promise<void>;
  protected abstract _isEmpty(opts: Opts): Promise<boolean>;
  /** Default: nothing to prepare. */
  protected async _create(_opts: Opts): Promise<void> {}
  /** Default: a backend that leaves no temporary files has none to remove. */
  protected async _removeTemporary(_types: readonly FileType[], _opts: Opts): Promise<number> {
    return 0;
  }
  /** Default: nothing to release. */
  protected async _close(): Promise<void> {}

  /**
   * Turns whatever a hook threw into a StowageError (the one place a backend classifies its
   * failures). Default: StowageErrors as they are, AbortError as ABORTED, anything else BACKEND.
   */
  protected mapError(err: unknown, op: string, h: Handle | undefined): unknown {
    if (err instanceof StowageError) return err;
    const what = h ? pathOf(h) : this.info.location;
    const e = err as { name?: string; message?: string };
    if (e?.name === 'AbortError') return new StowageError('ABORTED', `${op} ${what}: aborted`, { cause: err });
    return new StowageError('BACKEND', `${op} ${what}: ${e?.message ?? String(err)}`, { cause: err });
  }

  // ---- plumbing -------------------------------------------------------------------------

  /** `_list` behind the signal checks (before the first entry and before every next one) and the error mapping. */
  private async *listChecked(type: FileType, opts: OpOptions): AsyncGenerator<FileInfo> {
    const signal = opts.signal;
    if (signal?.aborted) throw abortedError(signal, `list ${type} files: aborted`);
    const it = this._list(type, opts)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let r: IteratorResult<FileInfo>;
        try {
          r = await it.next();
        } catch (err) {
          throw this.failure(err, 'list', { type, name: '' }, signal);
        }
        if (r.done) return;
        if (signal?.aborted) throw abortedError(signal, `list ${type} files: aborted`);
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }

  /** Runs a hook behind the signal check and the error mapping. */
  private async guard<T>(op: string, h: Handle | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (signal?.aborted) throw abortedError(signal, `${op} ${h ? pathOf(h) : this.info.location}: aborted`);
    try {
      return await fn();
    } catch (err) {
      throw this.failure(err, op, h, signal);
    }
  }

  /** The error a failed call reports: the abort when the signal fired, else the mapped error. */
  private failure(err: unknown, op: string, h: Handle | undefined, signal: AbortSignal | undefined): unknown {
    if (err instanceof TypeError || err instanceof RangeError) return err;
    if (signal?.aborted) return abortedError(signal, `${op} ${h ? (h.name ? pathOf(h) : `${h.type} files`) : this.info.location}: aborted`);
    return this.mapError(err, op, h);
  }

  /** A zero-length range: the file must exist and the range may not start past its end. */
  private async emptyRange(h: Handle, range: Range, opts: Opts): Promise<void> {
    const { size } = await this.stat(h, opts);
    if (range.offset > size) throw shortRead(h, range, 0, size);
  }
}

function checkType(type: FileType): void {
  if (!FILE_TYPES.includes(type)) throw new TypeError(`unknown file type ${JSON.stringify(type)}`);
}

function checkRange(r: Range): void {
  if (!Number.isSafeInteger(r.offset) || r.offset < 0 || !Number.isSafeInteger(r.length) || r.length < 0) {
    throw new RangeError(`invalid range ${JSON.stringify(r)}: offset and length must be non-negative integers`);
  }
}

function shortRead(h: Handle, r: Range, got: number, size?: number): StowageError {
  const end = size === undefined ? `got ${got}` : `the file has ${size}`;
  return new StowageError('CORRUPT', `${pathOf(h)}: short read, wanted ${r.length} bytes at offset ${r.offset}, ${end}`);
}

/**
 * The one way a finished pack reaches the backend: write sessions (repository/write-session.ts)
 * and gc's repacking (gc/execute.ts) both upload through `uploadPack`.
 *
 * 1. Save the pack's parts under its name (views that follow each other in one buffer are
 *    joined first: one write each), with the pack's SHA-256 when its writer computed one
 *    (a backend that signs uploads with it, S3, then need not hash the pack again).
 * 2. When a file of that name exists already (another writer, or an interrupted gc run, stored
 *    the identical pack: same name = same bytes), read it whole and check that its content
 *    matches its name; CORRUPT otherwise.
 * 3. Read back the pack's tail (sealed trailer and footer) and compare it byte for byte with
 *    what was written; BACKEND when it differs. PackWriter.finalize re-parsed that tail before,
 *    so a tail that reads back equal decodes to exactly the pack's entries.
 *
 * A pack written to a backend's TempFile while it was built (write sessions on a local
 * directory) goes through `commitPack` instead of step 1: its rest appended, the file
 * committed under the pack's name; steps 2 and 3 the same.
 *
 * Only after uploadPack (or commitPack) resolves may an index file name the pack.
 */
import { saveParts, type Backend, type TempFile } from '../backend/backend.js';
import { StowageError, isStowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';
import type { FinishedPack } from './pack-writer.js';

/** Saves `pack`, then reads its trailer and footer back and checks them (see the file comment). */
export async function uploadPack(backend: Backend, pack: FinishedPack): Promise<void> {
  if (pack.drained > 0) throw new TypeError('uploadPack: a drained pack is committed from its TempFile (commitPack)');
  await stored(backend, pack, () => saveParts(backend, { type: 'pack', name: pack.id }, joinAdjacent(pack.parts), pack.sha256 === undefined ? undefined : { sha256: pack.sha256 }));
}

/**
 * The same for a pack written while it was built: `temp` holds the bytes the writer drained
 * (FinishedPack.drained); the rest of the pack's parts are appended, the file committed under
 * the pack's name, and checked as uploadPack checks it. The temporary is gone afterwards.
 */
export async function commitPack(backend: Backend, temp: TempFile, pack: FinishedPack): Promise<void> {
  await stored(backend, pack, async () => {
    try {
      await temp.append(joinAdjacent(pack.parts));
    } catch (err) {
      await temp.discard();
      throw err;
    }
    await temp.commit(pack.id);
  });
}

/** Runs `save`; an existing file of the pack's name must hash to it; then the tail must read back as written. */
async function stored(backend: Backend, pack: FinishedPack, save: () => Promise<void>): Promise<void> {
  const h = { type: 'pack' as const, name: pack.id };
  try {
    await save();
  } catch (err) {
    if (!isStowageError(err, 'ALREADY_EXISTS')) throw err;
    if (blake3Hex(await backend.load(h)) !== pack.id) {
      throw new StowageError('CORRUPT', `pack ${pack.id} exists in the repository but its content does not match its name`);
    }
  }
  const tail = pack.parts[pack.parts.length - 1]!;
  const back = await backend.load(h, { offset: pack.size - tail.length, length: tail.length });
  if (!Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(tail)) {
    throw new StowageError('BACKEND', `pack ${pack.id}: trailer read back from ${backend.info.location} differs from what was written`);
  }
}

/** Joins views that follow each other in one buffer (e.g. gc's repacked blobs, which lie in one area). */
export function joinAdjacent(parts: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (last && last.buffer === p.buffer && last.byteOffset + last.byteLength === p.byteOffset) {
      out[out.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.byteLength + p.byteLength);
    } else out.push(p);
  }
  return out;
}

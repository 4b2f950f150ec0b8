// Damage to a pack file, applied in place and undone: shared by test/restore-damaged.test.ts
// and the child process it runs (plain JavaScript, so the child needs no build step).
import * as fs from 'node:fs';

/**
 * The end of a pack's blob bytes (before its trailer and footer): flips and cuts before it
 * hit bytes that a restore reads.
 */
export function blobBytesEnd(file) {
  const b = fs.readFileSync(file);
  return b.length - 12 - b.readUInt32LE(b.length - 12);
}

/**
 * Applies `d` ({kind:'swap',a,b} | {kind:'truncate',a,size} | {kind:'flip',a,at,bit}) to
 * the pack file(s); returns a function that undoes it.
 */
export function applyDamage(d) {
  if (d.kind === 'swap') {
    const swap = () => {
      fs.renameSync(d.a, `${d.a}.x`);
      fs.renameSync(d.b, d.a);
      fs.renameSync(`${d.a}.x`, d.b);
    };
    swap();
    return swap;
  }
  const before = fs.readFileSync(d.a);
  fs.chmodSync(d.a, 0o644);
  if (d.kind === 'truncate') {
    fs.truncateSync(d.a, d.size);
  } else {
    const b = Buffer.from(before);
    b[d.at] ^= d.bit;
    fs.writeFileSync(d.a, b);
  }
  return () => fs.writeFileSync(d.a, before);
}

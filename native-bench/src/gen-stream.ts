/**
 * gen-stream.ts — writes N bytes of deterministic mixed data to stdout, in 4 MiB
 * pieces, honouring back-pressure (a stand-in for `docker save` into a pipe).
 */
import { mixedData } from './data.js';

const total = Number(process.argv[2] ?? '0');
const PIECE = 4 << 20;
let sent = 0;
let i = 0;

function next(): void {
  while (sent < total) {
    const n = Math.min(PIECE, total - sent);
    const piece = mixedData(`gen-${i++}`, n);
    sent += n;
    if (!process.stdout.write(piece)) {
      process.stdout.once('drain', next);
      return;
    }
  }
  process.stdout.end();
}
next();

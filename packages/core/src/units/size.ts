/**
 * The one size grammar of every option that takes a size (`--pack-size`, `--chunk-avg`,
 * `--max-unused`, ...): a number (fractions allowed), optional spaces, an optional unit.
 *
 * - no unit, `B`: bytes;
 * - `K`, `M`, `G`, `T` and `KiB`, `MiB`, `GiB`, `TiB`: powers of two (1024, 1024^2, ...), as restic
 *   and borg read `K`/`M`/`G`;
 * - `KB`, `MB`, `GB`, `TB`: powers of ten (1000, 1000^2, ...), as the SI units say.
 *
 * Units are case-insensitive (`256k` = `256K`). A fraction is rounded down to whole bytes
 * (`1.5K` = 1536). Anything else is INVALID_ARGUMENT, naming the option when given.
 */
import { StowageError } from '../errors.js';

const BINARY: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/** Bytes of a unit ("", "b", "k", "kib", "kb", ...), or undefined for an unknown unit. */
function unitBytes(unit: string): number | undefined {
  const u = unit.toLowerCase();
  if (u === '' || u === 'b') return 1;
  const m = /^([kmgtp])(ib|b)?$/.exec(u);
  if (!m) return undefined;
  return m[2] === 'b' ? DECIMAL[m[1]!] : BINARY[m[1]!];
}

/** True when `s` reads as a size (see the module comment). */
export function isSize(s: string): boolean {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i.exec(s.trim());
  return m !== null && unitBytes(m[2]!) !== undefined;
}

/**
 * "200MB" -> 200000000, "1.5GiB" -> 1610612736, "256K" -> 262144, "65536" -> 65536.
 * `what` names the option in the error ("--pack-size").
 */
export function parseSize(s: string, what = 'size'): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i.exec(s.trim());
  const mult = m ? unitBytes(m[2]!) : undefined;
  if (!m || mult === undefined) {
    throw new StowageError(
      'INVALID_ARGUMENT',
      `invalid ${what} "${s}": expected a number and an optional unit, e.g. 65536, 256K, 1.5GiB, 200MB (K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024; KB/MB/GB/TB powers of 1000)`,
    );
  }
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n)) throw new StowageError('INVALID_ARGUMENT', `invalid ${what} "${s}": too large`);
  return n;
}

/** Bytes for people, in powers of two: "977 KiB", "4.19 MiB", "12 B". */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2)} ${units[u]}`;
}

/** A rate in the same units as formatSize: "38.2 MiB/s"; "-" for no time. */
export function formatRate(bytes: number, seconds: number): string {
  return seconds > 0 ? `${formatSize(Math.round(bytes / seconds))}/s` : '-';
}

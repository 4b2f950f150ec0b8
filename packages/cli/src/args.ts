/**
 * Argument parsers for commander options. They throw INVALID_ARGUMENT, so bad
 * values get the same one-line error and exit code as everything else.
 */
import { StowageError } from '@stowage/core';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** "256K", "1M", "65536" -> bytes. */
export function parseSize(v: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(v.trim());
  const mult = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || mult === undefined) throw new StowageError('INVALID_ARGUMENT', `invalid size "${v}" (examples: 65536, 256K, 1M)`);
  return Number(m[1]) * mult;
}

export function parseIntArg(v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new StowageError('INVALID_ARGUMENT', `invalid number "${v}"`);
  return Number(v);
}

/** Collects a repeatable option. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

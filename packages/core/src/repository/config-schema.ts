/**
 * The shape of a stored config, checked field by field on load (before anything reads it):
 * a missing, null or mistyped field is CORRUPT naming the field ("repository config:
 * encryption.algorithm is missing"), never a TypeError deep inside an operation.
 */
import { corrupt } from '../errors.js';

type Check = (v: unknown) => string | undefined;

const str: Check = (v) => (typeof v === 'string' ? undefined : 'a string');
const int: Check = (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? undefined : 'an integer');
const oneOf =
  (...allowed: string[]): Check =>
  (v) =>
    typeof v === 'string' && allowed.includes(v) ? undefined : `one of ${allowed.map((a) => `"${a}"`).join(', ')}`;
const hexId: Check = (v) => (typeof v === 'string' && /^[0-9a-f]{8,128}$/.test(v) ? undefined : 'hex digits');
const decimal: Check = (v) => (typeof v === 'string' && /^\d{1,20}$/.test(v) ? undefined : 'a decimal string');

/** Every field of a version-1 config and what it must be. */
const FIELDS: readonly [string, Check][] = [
  ['version', int],
  ['id', hexId],
  ['chunker.algorithm', oneOf('fastcdc-2020')],
  ['chunker.minSize', int],
  ['chunker.avgSize', int],
  ['chunker.maxSize', int],
  ['chunker.level', int],
  ['chunker.seed', decimal],
  ['hash', oneOf('blake3', 'blake3-keyed')],
  ['compression.algorithm', oneOf('zstd')],
  ['compression.level', int],
  ['packSize', int],
  ['encryption.algorithm', str],
];

function get(obj: unknown, dotted: string): unknown {
  let v = obj;
  for (const k of dotted.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** CORRUPT naming the first field that is missing, null or of the wrong type. */
export function checkConfigShape(c: unknown): void {
  for (const [field, check] of FIELDS) {
    const v = get(c, field);
    if (v === undefined || v === null) throw corrupt(`repository config: ${field} is ${v === null ? 'null' : 'missing'}`);
    const want = check(v);
    if (want) throw corrupt(`repository config: ${field} must be ${want}, got ${JSON.stringify(v).slice(0, 40)}`);
  }
  if (get(c, 'encryption.algorithm') !== 'none') {
    const kdf = get(c, 'encryption.kdf');
    if (typeof kdf !== 'string') throw corrupt(`repository config: encryption.kdf is ${kdf === null ? 'null' : kdf === undefined ? 'missing' : 'not a string'}`);
  }
}

import { describe, expect, it } from 'vitest';
import { isStowageError } from '../errors.js';
import { newConfig, parseConfig } from './config.js';

const fields = [
  'version',
  'id',
  'chunker',
  'chunker.algorithm',
  'chunker.minSize',
  'chunker.avgSize',
  'chunker.maxSize',
  'chunker.level',
  'chunker.seed',
  'hash',
  'compression',
  'compression.algorithm',
  'compression.level',
  'packSize',
  'encryption',
  'encryption.algorithm',
];

/** A config as JSON with `field` set to `value` (undefined: deleted). */
function withField(base: object, field: string, value: unknown): Uint8Array {
  const c = structuredClone(base) as Record<string, unknown>;
  const keys = field.split('.');
  let o = c;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  if (value === undefined) delete o[keys.at(-1)!];
  else o[keys.at(-1)!] = value;
  return Buffer.from(JSON.stringify(c));
}

function errorOf(bytes: Uint8Array): { code: string; message: string } {
  try {
    parseConfig(bytes);
  } catch (err) {
    expect(isStowageError(err), String(err)).toBe(true);
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error('parsed');
}

describe('config schema', () => {
  const plain = newConfig({ encryption: 'none' });
  const enc = newConfig({ encryption: 'aes-256-gcm' });

  it('every field missing or null is CORRUPT naming it (the version is checked first)', () => {
    for (const field of fields) {
      for (const value of [undefined, null]) {
        const e = errorOf(withField(plain, field, value));
        expect(e.code, `${field}=${value}`).toBe('CORRUPT');
        const named = field === 'chunker' || field === 'compression' || field === 'encryption' ? `${field}.` : field;
        if (field === 'version') expect(e.message).toMatch(/no version/);
        else expect(e.message, `${field}=${value}`).toContain(`repository config: ${named}`);
      }
    }
    expect(errorOf(withField(enc, 'encryption.kdf', undefined)).message).toBe('repository config: encryption.kdf is missing');
  });

  it('wrong types are CORRUPT naming the field and what it must be', () => {
    expect(errorOf(withField(plain, 'packSize', '16M')).message).toBe('repository config: packSize must be an integer, got "16M"');
    expect(errorOf(withField(plain, 'hash', 'sha1')).message).toMatch(/^repository config: hash must be one of "blake3", "blake3-keyed"/);
    expect(errorOf(withField(plain, 'encryption', 'none')).message).toBe('repository config: encryption.algorithm is missing');
    expect(errorOf(withField(plain, 'chunker.seed', 5)).message).toMatch(/chunker.seed must be a decimal string/);
  });

  it('a good config parses', () => {
    expect(parseConfig(Buffer.from(JSON.stringify(plain)))).toEqual(plain);
    expect(parseConfig(Buffer.from(JSON.stringify(enc)))).toEqual(enc);
  });
});

/**
 * The repository config: fixed at init, never changed afterwards (changing chunker,
 * hash or compression parameters would silently break dedup).
 */
import { randomBytes } from 'node:crypto';
import type { ChunkerParams } from '../chunker/params.js';
import { validateChunkerParams } from '../chunker/params.js';
import { StowageError } from '../errors.js';
import { formatSize } from '../units/size.js';
import { checkConfigShape } from './config-schema.js';

export const FORMAT_VERSION = 1;

/** Defaults, chosen by measurement on the corpus (native-bench/README.md). */
export const DEFAULT_CHUNK_AVG = 256 * 1024;
export const DEFAULT_COMPRESSION_LEVEL = 3;
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
export const MIN_PACK_SIZE = 64 * 1024;
export const MAX_PACK_SIZE = 1024 * 1024 * 1024;

export interface RepoConfig {
  readonly version: number;
  /** Random 32-byte hex repository id (names the local cache). */
  readonly id: string;
  readonly chunker: {
    readonly algorithm: 'fastcdc-2020';
    readonly minSize: number;
    readonly avgSize: number;
    readonly maxSize: number;
    readonly level: number;
    /** Gear seed as a decimal string (u64). Secret repositories take it from key material instead. */
    readonly seed: string;
  };
  readonly hash: 'blake3' | 'blake3-keyed';
  readonly compression: { readonly algorithm: 'zstd'; readonly level: number };
  /** Target pack size in bytes. */
  readonly packSize: number;
  readonly encryption: { readonly algorithm: 'none' } | { readonly algorithm: string; readonly kdf: string };
}

/** What `init` may choose. */
export interface InitOptions {
  readonly chunkAvg?: number;
  readonly chunkMin?: number;
  readonly chunkMax?: number;
  readonly chunkLevel?: number;
  readonly compressionLevel?: number;
  readonly packSize?: number;
  /**
   * 'aes-256-gcm' (with the scrypt KDF for key files, and keyed BLAKE3 ids) or 'none'.
   * Repository.init defaults it from whether a password is given.
   */
  readonly encryption?: 'none' | 'aes-256-gcm';
}

/**
 * Builds a new config from init options, validating every value. An encrypted config
 * records the algorithms only; its secrets live in key files (repository/keys.ts), and
 * its chunker seed stays "0" (the real seed is derived from the master keys).
 */
export function newConfig(opts: InitOptions = {}): RepoConfig {
  const avg = opts.chunkAvg ?? DEFAULT_CHUNK_AVG;
  const chunker = {
    algorithm: 'fastcdc-2020' as const,
    minSize: opts.chunkMin ?? Math.max(64, Math.floor(avg / 4)),
    avgSize: avg,
    maxSize: opts.chunkMax ?? Math.min(16 * 1024 * 1024, avg * 4),
    level: opts.chunkLevel ?? 1,
    seed: '0',
  };
  const config: RepoConfig = {
    version: FORMAT_VERSION,
    id: randomBytes(32).toString('hex'),
    chunker,
    hash: opts.encryption === 'aes-256-gcm' ? 'blake3-keyed' : 'blake3',
    compression: { algorithm: 'zstd', level: opts.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL },
    packSize: opts.packSize ?? DEFAULT_PACK_SIZE,
    encryption: opts.encryption === 'aes-256-gcm' ? { algorithm: 'aes-256-gcm', kdf: 'scrypt' } : { algorithm: 'none' },
  };
  validateConfig(config);
  return config;
}

/** The chunker parameters of a config (seed override for keyed repositories). */
export function chunkerParams(config: RepoConfig, seed?: bigint): ChunkerParams {
  const c = config.chunker;
  return { minSize: c.minSize, avgSize: c.avgSize, maxSize: c.maxSize, level: c.level, seed: seed ?? BigInt(c.seed) };
}

/** Throws INVALID_ARGUMENT (for init options) describing the first bad value. */
export function validateConfig(config: RepoConfig): void {
  validateChunkerParams(chunkerParams(config));
  const lvl = config.compression.level;
  if (!Number.isInteger(lvl) || lvl < 0 || lvl > 22) throw new StowageError('INVALID_ARGUMENT', `compression level must be an integer 0..22 (0 = store raw), got ${lvl}`);
  const ps = config.packSize;
  if (!Number.isInteger(ps) || ps < MIN_PACK_SIZE || ps > MAX_PACK_SIZE)
    throw new StowageError('INVALID_ARGUMENT', `pack size must be between ${formatSize(MIN_PACK_SIZE)} and ${formatSize(MAX_PACK_SIZE)}, got ${Number.isFinite(ps) ? formatSize(ps) : ps}`);
}

/** Parses a stored config; UNSUPPORTED_FORMAT for versions this build does not know, CORRUPT for garbage. */
export function parseConfig(bytes: Uint8Array): RepoConfig {
  let c: RepoConfig;
  try {
    c = JSON.parse(Buffer.from(bytes).toString('utf8')) as RepoConfig;
  } catch (err) {
    throw new StowageError('CORRUPT', 'repository config is not valid JSON', { cause: err });
  }
  if (typeof c !== 'object' || c === null || typeof c.version !== 'number') throw new StowageError('CORRUPT', 'repository config has no version');
  if (c.version !== FORMAT_VERSION) throw new StowageError('UNSUPPORTED_FORMAT', `repository format version ${c.version} is not supported by this stowage (supports ${FORMAT_VERSION})`);
  checkConfigShape(c);
  try {
    validateConfig(c);
  } catch (err) {
    throw new StowageError('CORRUPT', `repository config is invalid: ${(err as Error).message}`, { cause: err });
  }
  return c;
}

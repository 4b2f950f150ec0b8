/**
 * Keys of encrypted repositories: the master keys, and the password-wrapped key files
 * in keys/ that hold them.
 *
 * Key scheme (format version 1):
 *
 * - Master keys, drawn at init from the OS CSPRNG and never changed afterwards:
 *   - `encrypt`, 32 bytes: the AES-256-GCM key (aead.ts) of every blob, pack trailer,
 *     index file and snapshot file;
 *   - `id`, 32 bytes: the key of the keyed BLAKE3 that names chunks (ids of equal content
 *     differ between repositories, and cannot be confirmed by hashing a guessed file);
 *   - the FastCDC gear seed is derived from the id key, so chunk boundaries differ
 *     between repositories too: seed = u64le(HKDF-SHA256(ikm = id, salt = "",
 *     info = "stowage/v1/chunker-seed", 8 bytes)). The seed in `config` stays "0".
 * - A key file wraps the master keys under one password:
 *   KEK = scrypt(password (UTF-8), salt (32 random bytes), N, r, p, 32 bytes);
 *   data = AES-256-GCM(KEK, payload), payload = JSON { version: 1, config: BLAKE3 hex
 *   of the repository's config file, encrypt, id }. Binding the config's hash
 *   authenticates the plaintext config: a changed config is CORRUPT once a key opens.
 * - Key file (JSON, stored as is, never sealed with the master key):
 *   `{ version, created, hostname, username, kdf: { algorithm: "scrypt", N, r, p, salt }, cipher: "aes-256-gcm", data }`
 *   (salt and data base64). Its name is the BLAKE3 of its bytes, like every repository file.
 *
 * Opening: every key file is checked against its name first. A file that does not
 * match its name (or does not parse) is damaged: CORRUPT naming it when no other key
 * opens. An intact key whose AEAD tag fails was made for another password. So a
 * wrong password is WRONG_PASSWORD, and a flipped bit is CORRUPT, never confused.
 * Keys are tried in parallel (scrypt runs on libuv's thread pool); a hint tries one first.
 * Several passwords = several key files of the same master keys; changing a password
 * adds a key file and removes the old one. The master keys themselves never change, so
 * whoever copied an old key file and knows its password keeps access to the data.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { availableParallelism, hostname as osHostname, userInfo } from 'node:os';
import type { Backend } from '../backend/backend.js';
import { StowageError, corrupt, isStowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';
import { AES_GCM, AES_GCM_NONCE_BYTES, AES_GCM_TAG_BYTES } from '../crypto/aead.js';
import type { CipherSpec } from '../crypto/cipher-spec.js';
import { KEK_BYTES, deriveKek, kdfSupported, type KdfParams } from './kek.js';

export type { KdfParams } from './kek.js';

export const KEY_FILE_VERSION = 1;
export const MASTER_KEY_BYTES = 32;
const SALT_BYTES = 32;

/** Default: restic's and kopia's scrypt cost (64 MiB, about 150 ms on one core of this machine). */
export const DEFAULT_KDF: KdfParams = { algorithm: 'scrypt', N: 1 << 16, r: 8, p: 1 };
/** Cheap parameters for tests only (the CLI uses them when STOWAGE_TEST_KDF=fast). Never for real data. */
export const TEST_KDF: KdfParams = { algorithm: 'scrypt', N: 1 << 10, r: 8, p: 1 };

/** The secrets of an encrypted repository. Keep them in memory only. */
export interface MasterKeys {
  /** AES-256-GCM key of everything stored. */
  readonly encrypt: Buffer;
  /** Key of the keyed BLAKE3 blob ids (and, derived, the chunker seed). */
  readonly id: Buffer;
}

/** A key file's public part. */
export interface KeyInfo {
  /** File name (BLAKE3 hex of the key file); its first 8 characters are the key's short id. */
  readonly name: string;
  readonly created: string;
  readonly hostname: string;
  readonly username: string;
  readonly kdf: KdfParams;
}

/** One entry of a key listing: a readable key file, or a damaged one. */
export type KeyListing = (KeyInfo & { readonly error?: undefined }) | { readonly name: string; readonly error: string };

interface KeyFileJson {
  version: number;
  created: string;
  hostname: string;
  username: string;
  kdf: KdfParams & { salt: string };
  cipher: string;
  data: string;
}

interface KeyFile extends KeyInfo {
  readonly salt: Buffer;
  readonly data: Buffer;
}

/** Fresh random master keys. */
export function newMasterKeys(): MasterKeys {
  return { encrypt: randomBytes(MASTER_KEY_BYTES), id: randomBytes(MASTER_KEY_BYTES) };
}

/** The cipher of everything stored in the repository. */
export function cipherSpecFor(master: MasterKeys): CipherSpec {
  return { algorithm: AES_GCM, key: master.encrypt };
}

/** The FastCDC gear seed of the repository (see the header). */
export function chunkerSeedFor(master: MasterKeys): bigint {
  return Buffer.from(hkdfSync('sha256', master.id, Buffer.alloc(0), 'stowage/v1/chunker-seed', 8)).readBigUInt64LE(0);
}

/** Throws INVALID_ARGUMENT (or CORRUPT, `asCorrupt`) unless `k` is a scrypt parameter set we accept. */
export function validateKdf(k: KdfParams, asCorrupt = false): void {
  if (!kdfSupported(k)) {
    const msg = `unsupported key derivation parameters ${JSON.stringify(k)} (scrypt, N a power of two 2^10..2^22, r 1..32, p 1..16, at most 1 GiB)`;
    throw asCorrupt ? corrupt(msg) : new StowageError('INVALID_ARGUMENT', msg);
  }
}

/** Choices for a new key file. */
export interface KeyFileOptions {
  readonly kdf?: KdfParams;
  readonly hostname?: string;
  readonly username?: string;
  readonly time?: Date;
  /** Receives a copy of the new key file's key-encryption key (for a KEK cache); the caller owns it. */
  readonly onKek?: (kek: Buffer) => void;
}

/** Builds the bytes of a new key file holding `master` under `password`. */
export async function buildKeyFile(master: MasterKeys, password: string, configHash: string, opts: KeyFileOptions = {}): Promise<Buffer> {
  const kdf = opts.kdf ?? DEFAULT_KDF;
  validateKdf(kdf);
  const salt = randomBytes(SALT_BYTES);
  const kek = await deriveKek(password, salt, kdf);
  opts.onKek?.(Buffer.from(kek));
  const payload = Buffer.from(JSON.stringify({ version: KEY_FILE_VERSION, config: configHash, encrypt: master.encrypt.toString('base64'), id: master.id.toString('base64') }));
  const nonce = randomBytes(AES_GCM_NONCE_BYTES);
  const c = createCipheriv(AES_GCM, kek, nonce, { authTagLength: AES_GCM_TAG_BYTES });
  const data = Buffer.concat([nonce, c.update(payload), c.final(), c.getAuthTag()]);
  payload.fill(0);
  kek.fill(0);
  const file: KeyFileJson = {
    version: KEY_FILE_VERSION,
    created: (opts.time ?? new Date()).toISOString(),
    hostname: opts.hostname ?? osHostname(),
    username: opts.username ?? safeUsername(),
    kdf: { algorithm: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, salt: salt.toString('base64') },
    cipher: AES_GCM,
    data: data.toString('base64'),
  };
  return Buffer.from(JSON.stringify(file, null, 2) + '\n');
}

/** Writes a new key file for `master` under `password`; returns its public part and its salt (for a KDF hint, kdf-hint.ts). */
export async function saveKey(backend: Backend, master: MasterKeys, password: string, configHash: string, opts: KeyFileOptions = {}): Promise<KeyInfo & { readonly salt: Buffer }> {
  if (password.length === 0) throw new StowageError('INVALID_ARGUMENT', 'an empty password is not allowed');
  const bytes = await buildKeyFile(master, password, configHash, opts);
  const name = blake3Hex(bytes);
  await backend.save({ type: 'key', name }, bytes);
  return parseKeyFile(bytes, name);
}

/** Loads a key file and checks it against its name; CORRUPT naming it when damaged. */
export async function loadKeyFile(backend: Backend, name: string): Promise<KeyFile> {
  let bytes: Uint8Array;
  try {
    bytes = await backend.load({ type: 'key', name });
  } catch (err) {
    if (err instanceof TypeError) throw corrupt(`key file ${name}: not a valid key file name`, err);
    throw err;
  }
  if (blake3Hex(bytes) !== name) throw corrupt(`key file ${name}: content does not match its name (damaged)`);
  return parseKeyFile(bytes, name);
}

function parseKeyFile(bytes: Uint8Array, name: string): KeyFile {
  const what = `key file ${name}`;
  let j: KeyFileJson;
  try {
    j = JSON.parse(Buffer.from(bytes).toString('utf8')) as KeyFileJson;
  } catch (err) {
    throw corrupt(`${what}: not valid JSON`, err);
  }
  if (typeof j !== 'object' || j === null) throw corrupt(`${what}: not a key file`);
  if (j.version !== KEY_FILE_VERSION) throw new StowageError('UNSUPPORTED_FORMAT', `${what}: key file version ${String(j.version)} is not supported`);
  if (j.cipher !== AES_GCM) throw new StowageError('UNSUPPORTED_FORMAT', `${what}: cipher ${String(j.cipher)} is not supported`);
  validateKdf(j.kdf, true);
  if (typeof j.kdf.salt !== 'string' || typeof j.data !== 'string') throw corrupt(`${what}: salt or data missing`);
  const salt = Buffer.from(j.kdf.salt, 'base64');
  const data = Buffer.from(j.data, 'base64');
  if (salt.length < 16 || data.length < AES_GCM_NONCE_BYTES + AES_GCM_TAG_BYTES + 2) throw corrupt(`${what}: salt or data too short`);
  return {
    name,
    created: String(j.created),
    hostname: String(j.hostname),
    username: String(j.username),
    kdf: { algorithm: 'scrypt', N: j.kdf.N, r: j.kdf.r, p: j.kdf.p },
    salt,
    data,
  };
}

/** Every key file, with its public part or why it is unreadable. */
export async function listKeys(backend: Backend): Promise<KeyListing[]> {
  const names = await keyNames(backend);
  return Promise.all(
    names.map(async (name): Promise<KeyListing> => {
      try {
        const { salt: _s, data: _d, ...info } = await loadKeyFile(backend, name);
        return info;
      } catch (err) {
        if (!isStowageError(err, 'CORRUPT', 'UNSUPPORTED_FORMAT')) throw err;
        return { name, error: err.message };
      }
    }),
  );
}

export async function keyNames(backend: Backend): Promise<string[]> {
  const out: string[] = [];
  for await (const f of backend.list('key')) out.push(f.name);
  return out.sort();
}

/**
 * Finds the key file that `password` opens and returns the master keys.
 * WRONG_PASSWORD when it opens none; CORRUPT naming a damaged key file when one is
 * damaged and no intact key opens; CORRUPT when the opened key was made for another
 * config (`configHash`: BLAKE3 hex of the stored config file).
 */
export async function unlock(backend: Backend, password: string, configHash: string, opts: { hint?: string } = {}): Promise<{ key: KeyInfo; master: MasterKeys; kek: Buffer; salt: Buffer }> {
  const names = await keyNames(backend);
  if (names.length === 0) throw corrupt(`the repository at ${backend.info.location} is encrypted but has no key files (keys/ is empty)`);
  const loaded = await Promise.all(
    names.map(async (name) => {
      try {
        return await loadKeyFile(backend, name);
      } catch (err) {
        if (!isStowageError(err, 'CORRUPT', 'UNSUPPORTED_FORMAT')) throw err;
        return err;
      }
    }),
  );
  const damaged = loaded.filter((k): k is StowageError => k instanceof StowageError);
  const keys = loaded.filter((k): k is KeyFile => !(k instanceof StowageError));
  // the hinted key first, alone; then the others, a few at a time
  const hint = opts.hint ? keys.filter((k) => k.name.startsWith(opts.hint!)) : [];
  const rest = keys.filter((k) => !hint.includes(k));
  const batches: KeyFile[][] = hint.length === 1 ? [hint] : [];
  const width = Math.max(2, Math.min(4, availableParallelism()));
  const pending = hint.length === 1 ? rest : keys;
  for (let i = 0; i < pending.length; i += width) batches.push(pending.slice(i, i + width));
  for (const batch of batches) {
    const opened = await Promise.all(batch.map((k) => tryKey(k, password)));
    const i = opened.findIndex((m) => m !== undefined);
    for (const [j, o] of opened.entries()) if (j !== i) o?.kek.fill(0);
    if (i < 0) continue;
    const { master, config, kek } = opened[i]!;
    const { salt, data: _d, ...key } = batch[i]!;
    checkConfig(key.name, config, configHash);
    return { key, master, kek, salt };
  }
  if (damaged.length > 0) {
    const others = keys.length === 0 ? '' : `, and the password opens none of the other ${keys.length} key${keys.length === 1 ? '' : 's'}`;
    throw corrupt(`${damaged[0]!.message}${others}`, damaged[0]);
  }
  throw new StowageError('WRONG_PASSWORD', `wrong password: it opens none of the ${keys.length} key${keys.length === 1 ? '' : 's'} of the repository`);
}

/**
 * Opens key file `name` with a key-encryption key remembered from an earlier unlock (a KEK
 * cache such as the key agent): the master keys, or undefined when that KEK does not open it
 * (then the caller derives from the password as usual). The file is checked against its name
 * and the config against the key, exactly as in `unlock`.
 */
export async function unlockWithKek(backend: Backend, name: string, kek: Buffer, configHash: string): Promise<{ key: KeyInfo; master: MasterKeys } | undefined> {
  const k = await loadKeyFile(backend, name);
  if (kek.length !== KEK_BYTES) return undefined;
  const opened = openKeyFile(k, kek);
  if (opened === undefined) return undefined;
  const { salt: _s, data: _d, ...key } = k;
  checkConfig(key.name, opened.config, configHash);
  return { key, master: opened.master };
}

function checkConfig(name: string, config: string, configHash: string): void {
  if (config !== configHash) {
    throw corrupt(`the repository config does not match key file ${name} (config changed after init: its content is authenticated by the keys)`);
  }
}

/** The master keys in `k` and its KEK if `password` opens it, else undefined. */
async function tryKey(k: KeyFile, password: string): Promise<{ master: MasterKeys; config: string; kek: Buffer } | undefined> {
  const kek = await deriveKek(password, k.salt, k.kdf);
  const opened = openKeyFile(k, kek);
  if (opened === undefined) kek.fill(0);
  return opened && { ...opened, kek };
}

/** The master keys in `k` if `kek` opens it, else undefined (does not keep or clear `kek`). */
function openKeyFile(k: KeyFile, kek: Buffer): { master: MasterKeys; config: string } | undefined {
  const tagAt = k.data.length - AES_GCM_TAG_BYTES;
  const d = createDecipheriv(AES_GCM, kek, k.data.subarray(0, AES_GCM_NONCE_BYTES), { authTagLength: AES_GCM_TAG_BYTES });
  d.setAuthTag(k.data.subarray(tagAt));
  const body = d.update(k.data.subarray(AES_GCM_NONCE_BYTES, tagAt));
  try {
    d.final();
  } catch {
    return undefined; // the file is intact (its name matched), so: another password
  }
  let p: { version?: unknown; config?: unknown; encrypt?: unknown; id?: unknown };
  try {
    p = JSON.parse(body.toString('utf8')) as typeof p;
  } catch (err) {
    throw corrupt(`key file ${k.name}: payload is not valid JSON`, err);
  } finally {
    body.fill(0);
  }
  if (p.version !== KEY_FILE_VERSION || typeof p.encrypt !== 'string' || typeof p.id !== 'string' || typeof p.config !== 'string') {
    throw corrupt(`key file ${k.name}: payload fields missing or malformed`);
  }
  const master = { encrypt: Buffer.from(p.encrypt, 'base64'), id: Buffer.from(p.id, 'base64') };
  if (master.encrypt.length !== MASTER_KEY_BYTES || master.id.length !== MASTER_KEY_BYTES) throw corrupt(`key file ${k.name}: master keys have the wrong length`);
  return { master, config: p.config };
}

/**
 * Resolves a key reference (full name or unique prefix of at least 4 hex characters)
 * to a key file name. NOT_FOUND, AMBIGUOUS_ID or INVALID_ARGUMENT otherwise.
 */
export async function resolveKey(backend: Backend, ref: string): Promise<string> {
  if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new StowageError('INVALID_ARGUMENT', `invalid key id "${ref}": expected 4 to 64 lowercase hex characters`);
  const matches = (await keyNames(backend)).filter((n) => n.startsWith(ref));
  if (matches.length === 0) throw new StowageError('NOT_FOUND', `no key matches "${ref}"`);
  if (matches.length > 1) throw new StowageError('AMBIGUOUS_ID', `key id prefix "${ref}" is ambiguous: it matches ${matches.length} keys`);
  return matches[0]!;
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

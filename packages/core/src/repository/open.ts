/**
 * Opening and creating a repository: the config (checked field by field), the key file a
 * password (or the key agent's cached KEK) opens, and the downgrade rules (a plaintext
 * config beside key files, or where this machine recorded encryption, is refused). What
 * comes out (config and master keys) is what a Repository is built from.
 */
import type { Backend } from '../backend/backend.js';
import { CONFIG_HANDLE } from '../backend/backend.js';
import { StowageError, corrupt, isStowageError } from '../errors.js';
import { blake3Hex } from '../hash/blake3.js';
import { mark } from '../util/timeline.js';
import { defaultCacheRoot } from './cache-dir.js';
import { refuseRecordedDowngrade, rememberEncrypted } from './encryption-record.js';
import type { KekCache } from './key-agent.js';
import type { InitOptions, RepoConfig } from './config.js';
import { newConfig, parseConfig } from './config.js';
import { rememberKdfHint, type KdfHint } from './kdf-hint.js';
import { keyNames, newMasterKeys, saveKey, unlock, unlockWithKek, type KdfParams, type KeyInfo, type MasterKeys } from './keys.js';

/** A password, or a function asked for it only when the repository turns out to be encrypted. */
export type PasswordSource = string | (() => string | undefined | Promise<string | undefined>);

export interface OpenOptions {
  /** Root of local caches (default: defaultCacheRoot()). */
  readonly cacheRoot?: string;
  /** Password of an encrypted repository; PASSWORD_REQUIRED when needed and not given. */
  readonly password?: PasswordSource;
  /** Key file name (or prefix) to try first, before the others. */
  readonly keyHint?: string;
  /**
   * Opt-in cache of key-encryption keys (the key agent, key-agent.ts): asked before the
   * password, told the KEK after an unlock from the password (and at init).
   */
  readonly kekCache?: KekCache;
  /**
   * The caller has a password for this repository (the CLI: given by flag or environment),
   * so it must be encrypted: a config saying "no encryption" is refused (CORRUPT, a possible
   * downgrade). Pass false (the CLI's --insecure-plaintext) to use a plaintext repository
   * anyway. Independently, a repository this machine recorded as encrypted is always refused
   * when it claims to be plaintext (encryption-record.ts).
   */
  readonly expectEncrypted?: boolean;
  /**
   * Codec worker threads to start first, before the config is read and the key derived
   * (codec-warm.ts): the codec pools take them once the repository is open. For callers that
   * will decode or encode with workers (a restore); unused ones cost their start (~45 ms of
   * CPU each) and are stopped when the process ends.
   */
  readonly prestartWorkers?: number;
  /**
   * Open the local index cache (LevelDB, key-independent) while the key is derived, instead
   * of on first use. For callers that will look blobs up (a restore). Closed again when the
   * repository fails to open.
   */
  readonly openIndexEarly?: boolean;
  /**
   * List the lock files while the key is derived (remote repositories only), for the first
   * lock this repository object takes: that listing only spares a lock file when a conflicting
   * lock is already there (the check that counts is the listing after our lock file is
   * written, lock.ts), so it may be a moment old. For callers that will lock (snapshot,
   * restore): on S3 it takes a round trip off the lock. Unused, it cost one LIST.
   */
  readonly listLocksEarly?: boolean;
  /**
   * List the snapshot files and read their stored bytes while the key is derived
   * (early-files.ts), for callers that will list the snapshots (a snapshot, a restore of
   * "latest"): loadFile then opens those bytes instead of reading them again. Which snapshots
   * exist is still what a later listing says. Unused, it cost the reads.
   */
  readonly readSnapshotsEarly?: boolean;
}

/** What Repository.init takes besides the config choices. */
export interface RepositoryInitOptions extends InitOptions, OpenOptions {
  /** KDF parameters of the first key file (default DEFAULT_KDF; TEST_KDF only in tests). */
  readonly kdf?: KdfParams;
}

/** The master keys of an opened encrypted repository and the key file that opened them. */
export interface Secrets {
  readonly master: MasterKeys;
  /** Name of the key file that was opened (or created). */
  key: string;
  /** BLAKE3 hex of the stored config (bound into every key file). */
  readonly configHash: string;
}

/** What a Repository is built from. */
export interface OpenedParts {
  readonly config: RepoConfig;
  /** Undefined for a plaintext repository. */
  readonly secrets: Secrets | undefined;
}

/**
 * Creates a repository at an empty location. REPOSITORY_EXISTS when it is not empty.
 * Encrypted when `encryption` is 'aes-256-gcm' or, by default, when a password is given
 * (then the first key file is written before the config, which is the commit point).
 */
export async function initRepository(backend: Backend, opts: RepositoryInitOptions = {}): Promise<OpenedParts> {
  const encryption = opts.encryption ?? (opts.password !== undefined ? 'aes-256-gcm' : 'none');
  const config = newConfig({ ...opts, encryption });
  if (!(await backend.isEmpty())) {
    const what = (await backend.exists(CONFIG_HANDLE)) ? 'a repository already exists' : 'the directory is not empty';
    throw new StowageError('REPOSITORY_EXISTS', `cannot init ${backend.info.location}: ${what}`);
  }
  const configBytes = Buffer.from(JSON.stringify(config, null, 2) + '\n');
  let secrets: Secrets | undefined;
  let hint: KdfHint | undefined;
  let password: string | undefined;
  if (encryption !== 'none') {
    password = await askPassword(opts.password);
    if (password === undefined) throw new StowageError('PASSWORD_REQUIRED', `cannot init an encrypted repository at ${backend.info.location} without a password`);
    if (password === '') throw new StowageError('INVALID_ARGUMENT', 'an empty password is not allowed');
  }
  await backend.create();
  if (password !== undefined) {
    const master = newMasterKeys();
    const configHash = blake3Hex(configBytes);
    let kek: Buffer | undefined;
    const key = await saveKey(backend, master, password, configHash, { ...(opts.kdf && { kdf: opts.kdf }), ...(opts.kekCache && { onKek: (k: Buffer) => (kek = k) }) });
    if (kek !== undefined) {
      await opts.kekCache!.put(key.name, kek);
      kek.fill(0);
    }
    secrets = { master, key: key.name, configHash };
    hint = { name: key.name, kdf: key.kdf, salt: key.salt.toString('base64') };
  }
  await backend.save(CONFIG_HANDLE, configBytes);
  const cacheRoot = opts.cacheRoot ?? defaultCacheRoot();
  if (secrets) rememberEncrypted(cacheRoot, config.id, backend.info.location);
  // S3: the first command after init derives while it loads, as every later one does
  if (hint) rememberKdfHint(cacheRoot, backend.info.location, hint);
  return { config, secrets: secrets };
}

/**
 * The config and secrets of an existing repository. NO_REPOSITORY when there is none at the
 * location. `onConfig` is told the (still unverified) config before any key is derived.
 */
export async function openRepository(backend: Backend, opts: OpenOptions = {}, onConfig?: (config: RepoConfig) => void): Promise<OpenedParts> {
  let raw: Uint8Array;
  try {
    raw = await backend.load(CONFIG_HANDLE);
  } catch (err) {
    if (isStowageError(err, 'NOT_FOUND')) throw new StowageError('NO_REPOSITORY', `no repository at ${backend.info.location} (config not found; run "stowage init" first)`);
    throw err;
  }
  const config = parseConfig(raw);
  mark('config read');
  onConfig?.(config);
  const enc = config.encryption;
  const cacheRoot = opts.cacheRoot ?? defaultCacheRoot();
  if (enc.algorithm === 'none') {
    // A plaintext config beside key files was changed (a downgrade): never read or write it as plaintext.
    if ((await keyNames(backend)).length > 0) {
      throw corrupt(`repository config at ${backend.info.location} says "no encryption", but the repository has key files: the config was changed`);
    }
    await refuseRecordedDowngrade(cacheRoot, config.id, backend.info.location);
    if (opts.expectEncrypted) {
      throw corrupt(
        `a password was given, but the repository at ${backend.info.location} says "no encryption": if it was encrypted, its config was replaced ` +
          `(a downgrade attack: plaintext writes would expose your data); refusing. For a plaintext repository, give no password, or pass --insecure-plaintext`,
      );
    }
    return { config, secrets: undefined };
  }
  if (enc.algorithm !== 'aes-256-gcm' || !('kdf' in enc) || enc.kdf !== 'scrypt' || config.hash !== 'blake3-keyed') {
    throw new StowageError('UNSUPPORTED_FORMAT', `repository is encrypted with ${enc.algorithm} (${'kdf' in enc ? enc.kdf : 'no kdf'}, hash ${config.hash}), which this build cannot open`);
  }
  const configHash = blake3Hex(raw);
  const cached = opts.kekCache && (await unlockFromCache(backend, opts.kekCache, configHash, opts.keyHint));
  if (cached) {
    rememberEncrypted(cacheRoot, config.id, backend.info.location);
    return { config, secrets: { master: cached.master, key: cached.key.name, configHash } };
  }
  const password = await askPassword(opts.password);
  if (password === undefined) throw new StowageError('PASSWORD_REQUIRED', `the repository at ${backend.info.location} is encrypted and no password was given`);
  const { key, master, kek, salt } = await unlock(backend, password, configHash, opts.keyHint ? { hint: opts.keyHint } : {});
  mark('key unlocked');
  rememberKdfHint(cacheRoot, backend.info.location, { name: key.name, kdf: key.kdf, salt: salt.toString('base64') }); // S3: the next command derives while it loads
  if (opts.kekCache) await opts.kekCache.put(key.name, kek);
  kek.fill(0);
  rememberEncrypted(cacheRoot, config.id, backend.info.location); // only once a key opened: a forged encrypted config teaches nothing
  return { config, secrets: { master, key: key.name, configHash } };
}

/**
 * The master keys from a KEK the cache remembers for one of the key files (the hinted ones
 * first), or undefined: then the password path runs as without a cache and reports any
 * damage, so nothing here throws.
 */
async function unlockFromCache(backend: Backend, cache: KekCache, configHash: string, hint: string | undefined): Promise<{ key: KeyInfo; master: MasterKeys } | undefined> {
  try {
    const names = await keyNames(backend);
    const ordered = hint ? [...names.filter((n) => n.startsWith(hint)), ...names.filter((n) => !n.startsWith(hint))] : names;
    const hit = await cache.get(ordered);
    if (hit === undefined) return undefined;
    try {
      return await unlockWithKek(backend, hit.name, hit.kek, configHash);
    } finally {
      hit.kek.fill(0);
    }
  } catch {
    return undefined;
  }
}

/** The password from a source (undefined when there is none). */
async function askPassword(src: PasswordSource | undefined): Promise<string | undefined> {
  return typeof src === 'function' ? src() : src;
}

/**
 * Where passwords come from, first match wins:
 *
 * 1. `--password-file <file>` (global option), 2. `STOWAGE_PASSWORD_FILE`, 3. `STOWAGE_PASSWORD`,
 * 4. a prompt on the terminal (no echo) when stdin is a TTY; new passwords are asked twice.
 *
 * New passwords (`key add`, `key passwd`) come from `--new-password-file`,
 * `STOWAGE_NEW_PASSWORD_FILE`, `STOWAGE_NEW_PASSWORD`, or the prompt. A password file's
 * content is the password, without one trailing newline. Empty variables count as unset.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_KDF, StowageError, TEST_KDF, type KdfParams } from '@stowage/core';
import type { Context } from './context.js';

const HOW = 'give it in STOWAGE_PASSWORD, or in a file named by --password-file or STOWAGE_PASSWORD_FILE, or run in a terminal to be asked';

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The password of the repository, read only when it turns out to be encrypted. */
export function passwordSource(ctx: Context): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () =>
    (cached ??= (async () => {
      const given = await givenPassword(ctx.opts.passwordFile, 'STOWAGE_PASSWORD_FILE', 'STOWAGE_PASSWORD');
      if (given !== undefined) return given;
      if (process.stdin.isTTY) return promptHidden(`enter password for repository: `);
      throw new StowageError('PASSWORD_REQUIRED', `the repository is encrypted and no password was given: ${HOW}`);
    })());
}

/**
 * The password of the source repository of `copy` (restic's --from-password-file): the
 * file given, else STOWAGE_FROM_PASSWORD_FILE, else STOWAGE_FROM_PASSWORD, else a prompt.
 */
export function fromPasswordSource(file: string | undefined): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () =>
    (cached ??= (async () => {
      const given = await givenPassword(file, 'STOWAGE_FROM_PASSWORD_FILE', 'STOWAGE_FROM_PASSWORD');
      if (given !== undefined) return given;
      if (process.stdin.isTTY) return promptHidden('enter password for source repository: ');
      throw new StowageError(
        'PASSWORD_REQUIRED',
        'the source repository is encrypted and no password was given: give it in STOWAGE_FROM_PASSWORD, or in a file named by --from-password-file or STOWAGE_FROM_PASSWORD_FILE, or run in a terminal to be asked',
      );
    })());
}

/**
 * True when the repository must be encrypted: a password was given by flag or environment
 * (not merely askable at a prompt), and neither --insecure-plaintext nor
 * STOWAGE_INSECURE_PLAINTEXT=1 says a plaintext repository is fine. A plaintext config is
 * then refused (Repository.open's expectEncrypted: a possible downgrade attack).
 */
export function expectsEncryption(ctx: Context): boolean {
  const given = ctx.opts.passwordFile !== undefined || env('STOWAGE_PASSWORD_FILE') !== undefined || env('STOWAGE_PASSWORD') !== undefined;
  const plaintextOk = (ctx.opts as { insecurePlaintext?: boolean }).insecurePlaintext === true || env('STOWAGE_INSECURE_PLAINTEXT') === '1';
  return given && !plaintextOk;
}

/** The password of a new repository (init): asked twice at the terminal. */
export function newRepositoryPassword(ctx: Context): () => Promise<string> {
  return async () => {
    const given = await givenPassword(ctx.opts.passwordFile, 'STOWAGE_PASSWORD_FILE', 'STOWAGE_PASSWORD');
    if (given !== undefined) return given;
    if (process.stdin.isTTY) return promptTwice('enter password for new repository: ');
    throw new StowageError('PASSWORD_REQUIRED', `a new repository is encrypted and needs a password: ${HOW} (or use --insecure-no-encryption for a plaintext repository)`);
  };
}

/** The new password of `key add` / `key passwd`. */
export async function newKeyPassword(file: string | undefined): Promise<string> {
  const given = await givenPassword(file, 'STOWAGE_NEW_PASSWORD_FILE', 'STOWAGE_NEW_PASSWORD');
  if (given !== undefined) return given;
  if (process.stdin.isTTY) return promptTwice('enter new password: ');
  throw new StowageError(
    'PASSWORD_REQUIRED',
    'no new password given: set STOWAGE_NEW_PASSWORD, or name a file with --new-password-file or STOWAGE_NEW_PASSWORD_FILE, or run in a terminal to be asked',
  );
}

/** KDF of new key files: strong by default; STOWAGE_TEST_KDF=fast makes them cheap, for tests only. */
export function kdfForNewKeys(): KdfParams {
  return process.env.STOWAGE_TEST_KDF === 'fast' ? TEST_KDF : DEFAULT_KDF;
}

async function givenPassword(flagFile: string | undefined, fileVar: string, var_: string): Promise<string | undefined> {
  const file = flagFile ?? env(fileVar);
  if (file !== undefined) return readPasswordFile(file);
  return env(var_);
}

async function readPasswordFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new StowageError('INVALID_ARGUMENT', `cannot read password file ${file}: ${why}`, { cause: err });
  }
  return text.replace(/\r?\n$/, '');
}

async function promptTwice(prompt: string): Promise<string> {
  const a = await promptHidden(prompt);
  const b = await promptHidden('enter the password again: ');
  if (a !== b) throw new StowageError('INVALID_ARGUMENT', 'the passwords do not match');
  return a;
}

/** Input typed ahead of a prompt (e.g. both passwords pasted at once), kept for the next one. */
let typedAhead = '';

/** Reads a line from the terminal without echoing it (raw mode; backspace, Ctrl-C and Ctrl-D work). */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  stdin.setRawMode(true); // before the prompt appears, so nothing typed is ever echoed
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (rest: string, fn: () => void): void => {
      typedAhead = rest;
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      fn();
    };
    const onData = (s: string): void => {
      const chars = [...s];
      for (let i = 0; i < chars.length; i++) {
        const ch = chars[i]!;
        const rest = (): string => chars.slice(i + 1).join('');
        if (ch === '\r' || ch === '\n') return finish(rest(), () => resolve(buf));
        if (ch === '\u0003') return finish('', () => reject(new StowageError('ABORTED', 'interrupted')));
        if (ch === '\u0004' && buf === '') return finish('', () => reject(new StowageError('PASSWORD_REQUIRED', 'no password entered')));
        if (ch === '\u007f' || ch === '\b') buf = [...buf].slice(0, -1).join('');
        else if (ch >= ' ') buf += ch;
      }
    };
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.resume();
    if (typedAhead) {
      const t = typedAhead;
      typedAhead = '';
      onData(t);
    }
  });
}

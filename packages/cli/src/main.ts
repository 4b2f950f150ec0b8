/**
 * The `stowage` command line: commander wiring, global options, and the one
 * place where errors become a line on stderr and an exit code.
 */
import { jsonText, oneLine, terminalSafe } from './escape.js';
import { recordInternalError } from './internal-log.js';
import { StowageError, isStowageError } from '@stowage/core';
import { runtimeVersions } from '@stowage/core/internal';
import { Command, CommanderError } from 'commander';
import type { Context, GlobalOptions } from './context.js';
import { EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, exitCodeFor } from './exit-codes.js';
import { EXIT_CLOSED_PIPE, StdoutGuard, argvWantsJson, jsonWarning } from './output.js';
import { registerAgent } from './commands/agent.js';
import { registerInit } from './commands/init.js';
import { registerCheck } from './commands/check.js';
import { registerForget } from './commands/forget.js';
import { registerGc } from './commands/gc.js';
import { registerUnlock } from './commands/unlock.js';
import { registerKey } from './commands/key.js';
import { registerLs } from './commands/ls.js';
import { registerRepair } from './commands/repair.js';
import { registerRestore } from './commands/restore.js';
import { registerSnapshot } from './commands/snapshot.js';
import { registerSnapshots } from './commands/snapshots.js';
import { registerVersion, versionText } from './commands/version.js';
import { registerCompletion } from './commands/completion.js';
import { registerFind } from './commands/find.js';
import { registerDiff } from './commands/diff.js';
import { registerDump } from './commands/dump.js';
import { registerServe } from './commands/serve.js';
import { registerCopy } from './commands/copy.js';

export const VERSION = '0.1.0';

/** Runs the CLI with `argv` (process.argv form); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const abort = new AbortController();
  const onSigint = () => abort.abort(new StowageError('ABORTED', 'interrupted'));
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  // a closed stdout (`stowage snapshots | head -2`): stop the operation, release its locks, exit 141
  const stdout = new StdoutGuard(process.stdout, (err) => abort.abort(new StowageError('ABORTED', `output closed (${err.code ?? err.message})`)));
  process.stderr.on('error', () => undefined); // a closed stderr: nothing left to tell
  const wantsJson = argvWantsJson(argv);

  const program = new Command('stowage');
  program
    .description('content-addressed, deduplicating backup store for container images and data')
    .option('-V, --version', 'print the versions (as "stowage version")')
    .option('-r, --repo <path>', 'repository location (or STOWAGE_REPOSITORY)')
    .option('--json', 'machine-readable output: one JSON document on stdout (JSON lines where a command streams); errors as a JSON object on stderr')
    .option('-q, --quiet', 'print only errors, warnings and requested data (no summaries, no progress)')
    .option('-v, --verbose', 'print more detail (repeatable)', (_v: string, prev: number | undefined) => (prev ?? 0) + 1)
    .option('--cache-dir <dir>', 'local cache root (or STOWAGE_CACHE_DIR; default ~/.cache/stowage)')
    .option('--debug', 'print stack traces of errors')
    .option('--retry-lock <duration>', 'wait up to this long for a locked repository (e.g. 30s, 5m, 1h30m) instead of failing with exit 11')
    .option('--no-lock', 'restore and check: run without taking a shared lock')
    .option('--password-file <file>', 'read the repository password from a file (or STOWAGE_PASSWORD_FILE, STOWAGE_PASSWORD; else a prompt)')
    .option('--key-hint <id>', 'key id to try first (or STOWAGE_KEY_HINT)')
    .option('--insecure-plaintext', 'use a repository that says it is not encrypted although a password is given (or STOWAGE_INSECURE_PLAINTEXT=1); without it that is refused as a possible downgrade')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(terminalSafe(s)),
      writeOut: (s) => stdout.write(s),
      // argument errors: one JSON object on stderr with --json, like every other error
      outputError: (s, write) => write(wantsJson ? jsonText({ error: { code: 'INVALID_ARGUMENT', message: s.replace(/^error: /, '').trim() } }) + '\n' : s),
    });

  // --version: the same text as `stowage version` (repository format, native modules)
  program.on('option:version', () => {
    stdout.write(versionText(VERSION, runtimeVersions(import.meta.url)) + '\n');
    throw new CommanderError(0, 'stowage.version', '');
  });

  const run = async (fn: (ctx: Context) => Promise<number | void>): Promise<void> => {
    const opts = program.opts<GlobalOptions>();
    const ctx: Context = {
      opts,
      signal: abort.signal,
      stdout: process.stdout,
      stderr: process.stderr,
      out: (line) => stdout.write(terminalSafe(line) + '\n'),
      say: (line) => (opts.quiet ? undefined : stdout.write(terminalSafe(line) + '\n')),
      info: (line) => (opts.quiet ? undefined : void process.stderr.write(terminalSafe(line) + '\n')),
      verbose: (line) => ((opts.verbose ?? 0) > 0 && !opts.quiet ? void process.stderr.write(terminalSafe(line) + '\n') : undefined),
      warn: (message) => void process.stderr.write((opts.json ? jsonWarning(message) : `stowage: warning: ${oneLine(message)}`) + '\n'),
      json: (v) => stdout.write(jsonText(v, 2) + '\n'),
    };
    try {
      exitCode = (await fn(ctx)) ?? EXIT_OK;
    } catch (err) {
      exitCode = stdout.closed && !stdout.failure ? EXIT_CLOSED_PIPE : reportError(err, opts, wantsJson);
    }
  };

  registerInit(program, run);
  registerSnapshot(program, run);
  registerSnapshots(program, run);
  registerRestore(program, run);
  registerLs(program, run);
  registerFind(program, run);
  registerDiff(program, run);
  registerDump(program, run);
  registerRepair(program, run);
  registerForget(program, run);
  registerGc(program, run);
  registerCheck(program, run);
  registerUnlock(program, run);
  registerKey(program, run);
  registerVersion(program, run, VERSION);
  registerCompletion(program, run); // describes every command, read when it runs
  registerServe(program, run);
  registerCopy(program, run);
  registerAgent(program, run);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed (outputError above)
      exitCode = err.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    } else {
      exitCode = reportError(err, program.opts<GlobalOptions>(), wantsJson);
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await stdout.flush();
    stdout.dispose();
  }
  if (stdout.closed && !stdout.failure) return EXIT_CLOSED_PIPE;
  if (stdout.failure && exitCode === EXIT_OK) exitCode = reportError(new StowageError('BACKEND', `cannot write the output: ${stdout.failure.message}`), program.opts<GlobalOptions>(), wantsJson);
  return exitCode;
}

/** One line on stderr (or a JSON object with --json), a stack only with --debug. */
function reportError(err: unknown, opts: GlobalOptions, wantsJson: boolean): number {
  const code = isStowageError(err) ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  const json = opts.json || wantsJson;
  if (!code) recordInternalError(message, err);
  if (json) process.stderr.write(jsonText({ error: { code: code ?? 'INTERNAL', message } }) + '\n');
  else process.stderr.write(`stowage: ${oneLine(message)}${code ? ` [${code}]` : ''}\n`);
  if (opts.debug && err instanceof Error && err.stack) process.stderr.write(terminalSafe(err.stack) + '\n');
  if (!code && !opts.debug && !json) process.stderr.write('stowage: this is a bug; run with --debug for details\n');
  const exit = exitCodeFor(code);
  return code === 'ABORTED' ? EXIT_INTERRUPTED : exit;
}

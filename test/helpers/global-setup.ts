/**
 * Vitest global setup: the suite's watch on "this is a bug" (issue 14, item 5).
 *
 * Every CLI process the tests start inherits STOWAGE_INTERNAL_ERROR_LOG (set here, before the
 * test workers start), and the CLI appends one JSON line to that file for every error it
 * reports without a code (INTERNAL, "this is a bug"), in human, --json and --debug output
 * alike (packages/cli/src/internal-log.ts). The teardown fails the run when the file is not
 * empty, naming each command and its message, so no error path the suite provokes, through
 * test/helpers/cli.ts or any other spawn of the CLI, ends in "this is a bug" unnoticed.
 * A test that provokes an internal error on purpose runs its process with the variable set
 * to '' (see packages/cli/src/run.test.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const INTERNAL_ERROR_LOG_ENV = 'STOWAGE_INTERNAL_ERROR_LOG';

export interface InternalErrorRecord {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly message: string;
  readonly stack?: string;
}

/** The records in an internal-error log (one JSON object per line). */
export function readInternalErrors(file: string): InternalErrorRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as InternalErrorRecord);
}

/** A report of internal errors for a failure message. */
export function describeInternalErrors(records: readonly InternalErrorRecord[]): string {
  return records
    .map(
      (r) =>
        `  stowage ${r.argv.join(' ')}\n    ${r.message}\n${(r.stack ?? '')
          .split('\n')
          .slice(1, 6)
          .map((l) => `    ${l.trim()}`)
          .join('\n')}`,
    )
    .join('\n');
}

export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-internal-'));
  const log = path.join(dir, 'internal-errors.jsonl');
  fs.writeFileSync(log, '');
  fs.chmodSync(dir, 0o777); // tests run the CLI as nobody too
  fs.chmodSync(log, 0o666);
  const before = process.env[INTERNAL_ERROR_LOG_ENV];
  process.env[INTERNAL_ERROR_LOG_ENV] = log;
  return () => {
    const records = readInternalErrors(log);
    fs.rmSync(dir, { recursive: true, force: true });
    if (before === undefined) delete process.env[INTERNAL_ERROR_LOG_ENV];
    else process.env[INTERNAL_ERROR_LOG_ENV] = before;
    if (records.length > 0) {
      // vitest reports a teardown error but keeps the run's exit code: set it too
      process.exitCode = 1;
      throw new Error(`${records.length} CLI run(s) of the test suite reported an internal error ("this is a bug"); give each a stable error code:\n${describeInternalErrors(records)}`);
    }
  };
}

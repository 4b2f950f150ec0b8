/**
 * The one place that maps error codes to exit codes (restic's set):
 * 0 ok, 1 error, 3 done with warnings, 10 no repository, 11 locked,
 * 12 wrong password, 130 interrupted.
 */
import type { ErrorCode } from '@stowage/core';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_WARNINGS = 3;
export const EXIT_NO_REPOSITORY = 10;
export const EXIT_LOCKED = 11;
export const EXIT_WRONG_PASSWORD = 12;
export const EXIT_INTERRUPTED = 130;

export function exitCodeFor(code: ErrorCode | undefined): number {
  switch (code) {
    case 'NO_REPOSITORY':
      return EXIT_NO_REPOSITORY;
    case 'LOCKED':
      return EXIT_LOCKED;
    case 'WRONG_PASSWORD':
      return EXIT_WRONG_PASSWORD;
    case 'ABORTED':
      return EXIT_INTERRUPTED;
    default:
      return EXIT_ERROR;
  }
}

/** `--registry-auth <docker config.json>`: the credentials it holds for a registry host. */
import { readFileSync } from 'node:fs';
import { StowageError, type Credentials } from '@stowage/core';
import { credentialsFromDockerConfig } from '@stowage/core/internal';

/** Undefined without a file; INVALID_ARGUMENT when the file is unreadable or has nothing for `host`. */
export function registryCredentials(file: string | undefined, host: string): Credentials | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StowageError('INVALID_ARGUMENT', `--registry-auth ${file}: ${(err as Error).message}`);
  }
  const c = credentialsFromDockerConfig(text, host, file);
  if (!c) throw new StowageError('INVALID_ARGUMENT', `--registry-auth ${file} has no credentials for ${host}`);
  return c;
}

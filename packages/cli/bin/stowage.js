#!/usr/bin/env node
// Start the password's key derivation (scrypt, encrypted repositories) before the rest of
// the CLI runs, so the two overlap (src/prefetch.ts); then run the CLI. The single-file
// bundle (scripts/bundle.mjs) starts faster; the plain compiled modules work as well.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/stowage.bundle.mjs', import.meta.url);
const cli = existsSync(bundle) ? await import(bundle.href) : { ...(await import('../dist/prefetch.js')), ...(await import('../dist/main.js')) };
cli.prefetchFromArgs(process.argv, process.env);
cli.main(process.argv).then((code) => { process.exitCode = code; });

#!/usr/bin/env node
// Start the password's key derivation (scrypt, encrypted repositories) before loading the rest
// of the CLI, so the two overlap (src/prefetch.ts); then run the CLI.
import { prefetchFromArgs } from '../dist/prefetch.js';
prefetchFromArgs(process.argv, process.env);
const { main } = await import('../dist/main.js');
main(process.argv).then((code) => { process.exitCode = code; });

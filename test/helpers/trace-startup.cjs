// Preloaded with `node --require` by test/startup-prefetch.test.ts: records, in the file named by
// STOWAGE_TRACE_STARTUP, when the process first called crypto.scrypt (each call) and when it
// first loaded LevelDB's modules (part of the CLI's main bundle loading), in ms since start.
'use strict';
const crypto = require('node:crypto');
const Module = require('node:module');
const fs = require('node:fs');
const out = process.env.STOWAGE_TRACE_STARTUP;
const trace = { scrypt: [], level: undefined };
const scrypt = crypto.scrypt;
crypto.scrypt = function (...args) {
  trace.scrypt.push(performance.now());
  return scrypt.apply(this, args);
};
Module.syncBuiltinESMExports();
const load = Module._load;
Module._load = function (request, ...rest) {
  if (trace.level === undefined && /(^|\/)(abstract|classic)-level(\/|$)/.test(request)) trace.level = performance.now();
  return load.call(this, request, ...rest);
};
process.on('exit', () => fs.writeFileSync(out, JSON.stringify(trace)));

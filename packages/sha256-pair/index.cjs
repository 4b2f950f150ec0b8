'use strict';
// The SHA-NI compression addon (sha256_pair.c, built by build.mjs), or null when it was not
// built or the CPU lacks SHA-NI: callers then hash with node:crypto.
let native = null;
try {
  const m = require('./build/sha256_pair.node');
  if (m.supported()) native = m;
} catch {
  native = null;
}
module.exports = native;

// packages/core/dist/errors.js
var StowageError = class extends Error {
  name = "StowageError";
  code;
  /** True when repeating the same call may succeed (transient backend failure). */
  retryable;
  constructor(code, message, options) {
    super(message, options);
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
};
function isStowageError(err, ...codes) {
  return err instanceof StowageError && (codes.length === 0 || codes.includes(err.code));
}
function corrupt(message, cause) {
  return new StowageError("CORRUPT", message, cause === void 0 ? void 0 : { cause });
}

// packages/core/dist/backend/backend.js
var FILE_TYPES = ["config", "key", "pack", "index", "snapshot", "lock"];
var CONFIG_HANDLE = { type: "config", name: "config" };
async function loadRangeInto(b, h, range, target, opts) {
  if (b.loadInto)
    return b.loadInto(h, range, target, opts);
  target.set(await b.load(h, range, opts));
}

// packages/core/dist/backend/layout.js
var DIRS = {
  config: "",
  key: "keys",
  pack: "data",
  index: "index",
  snapshot: "snapshots",
  lock: "locks"
};
function dirOf(type) {
  return DIRS[type];
}
function pathOf(h) {
  if (h.type === "config")
    return "config";
  if (h.type === "pack")
    return `data/${h.name.slice(0, 2)}/${h.name}`;
  return `${DIRS[h.type]}/${h.name}`;
}
function checkName(h) {
  if (h.type === "config") {
    if (h.name !== "config")
      throw new TypeError(`config handle must be named "config", got ${JSON.stringify(h.name)}`);
    return;
  }
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,199}$/.test(h.name))
    throw new TypeError(`invalid file name ${JSON.stringify(h.name)}`);
  if (h.type === "pack" && h.name.length < 2)
    throw new TypeError(`pack name too short: ${h.name}`);
}

// packages/core/dist/backend/local.js
import { randomBytes } from "node:crypto";
import { constants as fsc } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
var LocalBackend = class {
  info;
  root;
  constructor(root) {
    this.root = path.resolve(root);
    this.info = { location: `local:${this.root}`, connections: 4 };
  }
  abs(h) {
    checkName(h);
    return path.join(this.root, pathOf(h));
  }
  async save(h, data, opts) {
    opts?.signal?.throwIfAborted();
    const dest = this.abs(h);
    const dir = path.dirname(dest);
    const tmp = path.join(dir, `.tmp-${randomBytes(8).toString("hex")}`);
    try {
      const fh = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 384);
      try {
        let off = 0;
        while (off < data.length) {
          const { bytesWritten } = await fh.write(data, off, data.length - off, off);
          off += bytesWritten;
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.chmod(tmp, 292);
      if (opts?.overwrite) {
        await fs.rename(tmp, dest);
      } else {
        await fs.link(tmp, dest);
        await fs.unlink(tmp);
      }
      await fsyncDir(dir);
    } catch (err) {
      await fs.unlink(tmp).catch(() => void 0);
      throw mapFsError(err, h, "save");
    }
  }
  async load(h, range, opts) {
    opts?.signal?.throwIfAborted();
    if (range) {
      const buf = Buffer.allocUnsafe(range.length);
      await this.loadInto(h, range, buf, opts);
      return buf;
    }
    try {
      return await fs.readFile(this.abs(h));
    } catch (err) {
      throw mapFsError(err, h, "load");
    }
  }
  async loadInto(h, range, target, opts) {
    opts?.signal?.throwIfAborted();
    const file = this.abs(h);
    try {
      const fh = await fs.open(file, "r");
      try {
        let got = 0;
        while (got < range.length) {
          const { bytesRead } = await fh.read(target, got, range.length - got, range.offset + got);
          if (bytesRead === 0)
            break;
          got += bytesRead;
        }
        if (got !== range.length) {
          throw new StowageError("CORRUPT", `${pathOf(h)}: short read, wanted ${range.length} bytes at offset ${range.offset}, file ends after ${got}`);
        }
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw mapFsError(err, h, "load");
    }
  }
  async stat(h, opts) {
    opts?.signal?.throwIfAborted();
    try {
      const st = await fs.stat(this.abs(h));
      return { size: st.size };
    } catch (err) {
      throw mapFsError(err, h, "stat");
    }
  }
  async exists(h, opts) {
    opts?.signal?.throwIfAborted();
    try {
      await fs.access(this.abs(h));
      return true;
    } catch (err) {
      if (err.code === "ENOENT")
        return false;
      throw mapFsError(err, h, "stat");
    }
  }
  async *list(type, opts) {
    opts?.signal?.throwIfAborted();
    if (type === "config") {
      if (await this.exists({ type, name: "config" }))
        yield { name: "config", size: (await this.stat({ type, name: "config" })).size };
      return;
    }
    const base = path.join(this.root, dirOf(type));
    const dirs = type === "pack" ? (await readdirOrEmpty(base)).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => path.join(base, d)) : [base];
    for (const dir of dirs) {
      for (const name of await readdirOrEmpty(dir)) {
        if (name.startsWith("."))
          continue;
        opts?.signal?.throwIfAborted();
        try {
          const st = await fs.stat(path.join(dir, name));
          if (st.isFile())
            yield { name, size: st.size };
        } catch (err) {
          if (err.code !== "ENOENT")
            throw mapFsError(err, { type, name }, "list");
        }
      }
    }
  }
  async remove(h, opts) {
    opts?.signal?.throwIfAborted();
    const file = this.abs(h);
    try {
      await fs.unlink(file);
      await fsyncDir(path.dirname(file));
    } catch (err) {
      throw mapFsError(err, h, "remove");
    }
  }
  async isEmpty() {
    try {
      return (await fs.readdir(this.root)).length === 0;
    } catch (err) {
      if (err.code === "ENOENT")
        return true;
      throw mapFsError(err, void 0, "read");
    }
  }
  async create() {
    try {
      await fs.mkdir(this.root, { recursive: true });
      for (const t of FILE_TYPES) {
        if (t !== "config")
          await fs.mkdir(path.join(this.root, dirOf(t)), { recursive: true });
      }
      const data = path.join(this.root, dirOf("pack"));
      for (let i = 0; i < 256; i++)
        await fs.mkdir(path.join(data, i.toString(16).padStart(2, "0")), { recursive: true });
      await fsyncDir(data);
      await fsyncDir(this.root);
      await fsyncDir(path.dirname(this.root));
    } catch (err) {
      throw mapFsError(err, void 0, "create");
    }
  }
  async removeTemporary(types) {
    let n = 0;
    for (const type of types) {
      if (type === "config")
        continue;
      const base = path.join(this.root, dirOf(type));
      const dirs = type === "pack" ? (await readdirOrEmpty(base)).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => path.join(base, d)) : [base];
      for (const dir of dirs) {
        for (const name of await readdirOrEmpty(dir)) {
          if (!name.startsWith(".tmp-"))
            continue;
          await fs.unlink(path.join(dir, name)).then(() => n++, () => void 0);
        }
      }
    }
    return n;
  }
  async close() {
  }
};
async function readdirOrEmpty(dir) {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (err.code === "ENOENT")
      return [];
    throw err;
  }
}
async function fsyncDir(dir) {
  const fh = await fs.open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
function mapFsError(err, h, op) {
  if (err instanceof StowageError)
    return err;
  const e = err;
  const what = h ? pathOf(h) : "repository";
  switch (e.code) {
    case "ENOENT":
      return new StowageError("NOT_FOUND", `${what}: not found`, { cause: err });
    case "EEXIST":
      return new StowageError("ALREADY_EXISTS", `${what}: already exists`, { cause: err });
    case "ABORT_ERR":
      return new StowageError("ABORTED", `${op} ${what}: aborted`, { cause: err });
    case "ENOSPC":
      return new StowageError("BACKEND", `${op} ${what}: no space left on device`, { cause: err });
    case "EACCES":
    case "EPERM":
      return new StowageError("BACKEND", `${op} ${what}: permission denied`, { cause: err });
    default:
      if (e.name === "AbortError")
        return new StowageError("ABORTED", `${op} ${what}: aborted`, { cause: err });
      return new StowageError("BACKEND", `${op} ${what}: ${e.message}`, { cause: err, retryable: e.code === "EIO" || e.code === "EAGAIN" });
  }
}

// packages/core/dist/chunker/params.js
var MIN_SIZE_LOWER = 64;
var MIN_SIZE_UPPER = 1 << 20;
var AVG_SIZE_LOWER = 256;
var AVG_SIZE_UPPER = 4 << 20;
var MAX_SIZE_LOWER = 1024;
var MAX_SIZE_UPPER = 16 << 20;
var U64_MAX = (1n << 64n) - 1n;
function checkInt(name, value, lo, hi) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < lo || value > hi) {
    throw new StowageError("INVALID_ARGUMENT", `chunker ${name} must be an integer in [${lo}, ${hi}], got ${String(value)}`);
  }
}
function validateChunkerParams(p) {
  checkInt("minSize", p.minSize, MIN_SIZE_LOWER, MIN_SIZE_UPPER);
  checkInt("avgSize", p.avgSize, AVG_SIZE_LOWER, AVG_SIZE_UPPER);
  checkInt("maxSize", p.maxSize, MAX_SIZE_LOWER, MAX_SIZE_UPPER);
  checkInt("level", p.level, 0, 3);
  if (p.minSize > p.avgSize || p.avgSize > p.maxSize) {
    throw new StowageError("INVALID_ARGUMENT", `chunker sizes must satisfy minSize <= avgSize <= maxSize, got ${p.minSize} / ${p.avgSize} / ${p.maxSize}`);
  }
  if (typeof p.seed !== "bigint" || p.seed < 0n || p.seed > U64_MAX) {
    throw new StowageError("INVALID_ARGUMENT", `chunker seed must be a bigint in [0, 2^64-1], got ${String(p.seed)}`);
  }
}

// packages/core/dist/chunker/gear.js
import { createHash } from "node:crypto";
var U64 = (1n << 64n) - 1n;
var MASKS = Object.freeze([
  0n,
  0n,
  0n,
  0n,
  0n,
  0x0000000001804110n,
  // 5 (NC3 only)
  0x0000000001803110n,
  // 6  64 B
  0x0000000018035100n,
  // 7  128 B
  0x0000001800035300n,
  // 8  256 B
  0x0000019000353000n,
  // 9  512 B
  0x0000590003530000n,
  // 10 1 KiB
  0x0000d90003530000n,
  // 11 2 KiB
  0x0000d90103530000n,
  // 12 4 KiB
  0x0000d90303530000n,
  // 13 8 KiB
  0x0000d90313530000n,
  // 14 16 KiB
  0x0000d90f03530000n,
  // 15 32 KiB
  0x0000d90303537000n,
  // 16 64 KiB
  0x0000d90703537000n,
  // 17 128 KiB
  0x0000d90707537000n,
  // 18 256 KiB
  0x0000d91707537000n,
  // 19 512 KiB
  0x0000d91747537000n,
  // 20 1 MiB
  0x0000d91767537000n,
  // 21 2 MiB
  0x0000d93767537000n,
  // 22 4 MiB
  0x0000d93777537000n,
  // 23 8 MiB
  0x0000d93777577000n,
  // 24 16 MiB
  0x0000db3777577000n
  // 25 (NC3 only)
]);
function logarithm2(value) {
  return Math.round(Math.log2(value));
}
function masksFor(params) {
  const bits = logarithm2(params.avgSize);
  const bitsS = bits + params.level;
  const bitsL = bits - params.level;
  const maskS = MASKS[bitsS];
  const maskL = MASKS[bitsL];
  if (maskS === void 0 || maskL === void 0 || bitsL < 5) {
    throw new RangeError(`no FastCDC mask for avgSize ${params.avgSize} at level ${params.level}`);
  }
  return { maskS, maskL, maskSLs: maskS << 1n & U64, maskLLs: maskL << 1n & U64, bitsS, bitsL };
}
var baseGear;
var cache = /* @__PURE__ */ new Map();
function computeBaseGear() {
  const out = new BigUint64Array(256);
  const input = Buffer.alloc(64);
  for (let i = 0; i < 256; i++) {
    input.fill(i);
    out[i] = createHash("md5").update(input).digest().readBigUInt64BE(0);
  }
  return out;
}
function gearTables(seed = 0n) {
  const hit = cache.get(seed);
  if (hit !== void 0)
    return hit;
  baseGear ??= computeBaseGear();
  const gear = new BigUint64Array(256);
  const gearLs = new BigUint64Array(256);
  const seedLs = seed << 1n & U64;
  for (let i = 0; i < 256; i++) {
    const g = baseGear[i] ?? 0n;
    gear[i] = g ^ seed;
    gearLs[i] = g << 1n & U64 ^ seedLs;
  }
  const tables = { gear, gearLs };
  if (cache.size >= 16)
    cache.clear();
  cache.set(seed, tables);
  return tables;
}

// packages/core/dist/chunker/fastcdc-js.js
var U642 = (1n << 64n) - 1n;
var lo24 = (v) => Number(v & 0xffffffn);
var hi32 = (v) => Number(BigInt.asIntN(32, v >> 24n));
function splitTable(table2) {
  const lo = new Int32Array(256);
  const hi = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const v = table2[i] ?? 0n;
    lo[i] = lo24(v);
    hi[i] = hi32(v);
  }
  return [lo, hi];
}
function makeKernel(p) {
  const { gear, gearLs } = gearTables(p.seed);
  const m = masksFor(p);
  const [gLo, gHi] = splitTable(gear);
  const [lsLo, lsHi] = splitTable(gearLs);
  return {
    min: p.minSize,
    avg: p.avgSize,
    max: p.maxSize,
    gLo,
    gHi,
    lsLo,
    lsHi,
    msLo: lo24(m.maskS),
    msHi: hi32(m.maskS),
    mlLo: lo24(m.maskL),
    mlHi: hi32(m.maskL),
    mslsLo: lo24(m.maskSLs),
    mslsHi: hi32(m.maskSLs),
    mllsLo: lo24(m.maskLLs),
    mllsHi: hi32(m.maskLLs)
  };
}
function cutLength(data, pos, len, k) {
  let rem = len;
  if (rem <= k.min)
    return rem;
  let center = k.avg;
  if (rem > k.max)
    rem = k.max;
  else if (rem < center)
    center = rem;
  const gLo = k.gLo, gHi = k.gHi, lsLo = k.lsLo, lsHi = k.lsHi;
  let lo = 0;
  let hi = 0;
  let a = pos + (k.min & ~1);
  let stop = pos + (center & ~1);
  const sLsLo = k.mslsLo, sLsHi = k.mslsHi, sLo = k.msLo, sHi = k.msHi;
  for (; a < stop; a += 2) {
    let b = data[a];
    lo = (lo << 2) + lsLo[b];
    hi = (hi << 2) + lsHi[b] + (lo >>> 24) | 0;
    lo &= 16777215;
    if ((lo & sLsLo | hi & sLsHi) === 0)
      return a - pos;
    b = data[a + 1];
    lo = lo + gLo[b];
    hi = hi + gHi[b] + (lo >>> 24) | 0;
    lo &= 16777215;
    if ((lo & sLo | hi & sHi) === 0)
      return a + 1 - pos;
  }
  stop = pos + (rem & ~1);
  const lLsLo = k.mllsLo, lLsHi = k.mllsHi, lLo = k.mlLo, lHi = k.mlHi;
  for (; a < stop; a += 2) {
    let b = data[a];
    lo = (lo << 2) + lsLo[b];
    hi = (hi << 2) + lsHi[b] + (lo >>> 24) | 0;
    lo &= 16777215;
    if ((lo & lLsLo | hi & lLsHi) === 0)
      return a - pos;
    b = data[a + 1];
    lo = lo + gLo[b];
    hi = hi + gHi[b] + (lo >>> 24) | 0;
    lo &= 16777215;
    if ((lo & lLo | hi & lHi) === 0)
      return a + 1 - pos;
  }
  return rem;
}
function reportedHash(data, pos, len, avail, p, gear) {
  if (avail <= p.minSize)
    return 0n;
  const first = pos + (p.minSize & ~1);
  const rem = Math.min(avail, p.maxSize);
  let last;
  let shift = 0n;
  if (len === rem) {
    last = pos + (rem & ~1) - 1;
    if (last < first)
      return 0n;
  } else {
    last = pos + len;
    if ((len & 1) === 0)
      shift = 1n;
  }
  let h = 0n;
  for (let j = Math.max(first, last - 63); j <= last; j++) {
    h = (h << 1n) + (gear[data[j]] ?? 0n) & U642;
  }
  return h << shift & U642;
}
var JsCutter = class {
  impl = "js";
  params;
  #kernel;
  #gear;
  #lengths = new Uint32Array(64);
  #hashes = new BigUint64Array(0);
  constructor(params) {
    this.params = params;
    this.#kernel = makeKernel(params);
    this.#gear = gearTables(params.seed).gear;
  }
  cuts(data, eof, wantHashes = false) {
    const k = this.#kernel;
    const n = data.length;
    let lengths = this.#lengths;
    let hashes = this.#hashes;
    let pos = 0;
    let count = 0;
    while (pos < n) {
      const avail = n - pos;
      if (!eof && avail < k.max)
        break;
      const len = cutLength(data, pos, avail, k);
      if (count === lengths.length) {
        const grown = new Uint32Array(lengths.length * 2);
        grown.set(lengths);
        lengths = this.#lengths = grown;
      }
      lengths[count] = len;
      if (wantHashes) {
        if (count >= hashes.length) {
          const grown = new BigUint64Array(Math.max(64, lengths.length));
          grown.set(hashes);
          hashes = this.#hashes = grown;
        }
        hashes[count] = reportedHash(data, pos, len, avail, this.params, this.#gear);
      }
      count++;
      pos += len;
    }
    return {
      count,
      lengths: lengths.subarray(0, count),
      hashes: wantHashes ? hashes.subarray(0, count) : void 0
    };
  }
};
function createJsCutter(params) {
  return new JsCutter(params);
}

// packages/core/dist/chunker/fastcdc-wasm-module.js
var FASTCDC_WASM_BASE64 = "AGFzbQEAAAABEwJgBX9/f35+AGAGf39/f39/AX8DAwIAAQUDAQABBh0FfwFBwAALfwFBgAILfwFBgAgLfgFCAAt+AUIACwcYAwZtZW1vcnkCAARpbml0AAAEY3V0cwABCrsDAhYAIAAkACABJAEgAiQCIAMkAyAEJAQLoQMEA38Efgh/AX4jACEGIwEhByMCIQgjAyEJIwQhCiAJQgGGIQsgCkIBhiEMIAAhDSAAIAFqIQ4CQANAIA4gDWshDyAPRQ0BIAJFIA8gCElxDQFCACEVAkAgDyAGTQRAIA8hEwwBCyAHIRAgDyAISwRAIAghDwUgDyAQSQRAIA8hEAsLIA0gBkF+cWohESANIBBBfnFqIRIgESASSQRAA0AgFUIChiARLQAAQQN0KQOAEHwhFSAVIAuDUARAIBEgDWshEwwDCyAVIBEtAAFBA3QpAwB8IRUgFSAJg1AEQCARIA1rQQFqIRMMAwsgEUECaiERIBEgEkkNAAsLIA0gD0F+cWohEiARIBJJBEADQCAVQgKGIBEtAABBA3QpA4AQfCEVIBUgDINQBEAgESANayETDAMLIBUgES0AAUEDdCkDAHwhFSAVIAqDUARAIBEgDWtBAWohEwwDCyARQQJqIREgESASSQ0ACwsgDyETCyADIBRBAnRqIBM2AgAgBQRAIAQgFEEDdGogFTcDAAsgFEEBaiEUIA0gE2ohDQwACwsgFAs=";

// packages/core/dist/chunker/fastcdc-wasm.js
var GEAR_OFFSET = 0;
var GEAR_LS_OFFSET = 2048;
var INPUT_OFFSET = 4096;
var PAGE = 65536;
var compiled;
function api() {
  return globalThis.WebAssembly;
}
function wasmAvailable() {
  return api() !== void 0;
}
function wasmModule(wa) {
  compiled ??= new wa.Module(Buffer.from(FASTCDC_WASM_BASE64, "base64"));
  return compiled;
}
var WasmCutter = class {
  impl = "wasm";
  params;
  #wasm;
  /** Upper bound on the chunk count per input byte: every non-final chunk is >= minSize & ~1 (>= 64) bytes. */
  #minChunk;
  constructor(params) {
    const wa = api();
    if (wa === void 0)
      throw new Error("WebAssembly is not available in this runtime");
    const instance = new wa.Instance(wasmModule(wa), {});
    this.#wasm = instance.exports;
    this.params = params;
    this.#minChunk = params.minSize & ~1;
    const { gear, gearLs } = gearTables(params.seed);
    const mem = new BigUint64Array(this.#wasm.memory.buffer, 0, 512);
    mem.set(gear, GEAR_OFFSET / 8);
    mem.set(gearLs, GEAR_LS_OFFSET / 8);
    const m = masksFor(params);
    this.#wasm.init(params.minSize, params.avgSize, params.maxSize, m.maskS, m.maskL);
  }
  cuts(data, eof, wantHashes = false) {
    const n = data.length;
    const cap = Math.floor(n / this.#minChunk) + 1;
    const hashPtr = INPUT_OFFSET + n + 7 & ~7;
    const lensPtr = hashPtr + cap * 8;
    const need = lensPtr + cap * 4;
    const memory = this.#wasm.memory;
    if (memory.buffer.byteLength < need) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    }
    const buffer = memory.buffer;
    new Uint8Array(buffer, INPUT_OFFSET, n).set(data);
    const count = this.#wasm.cuts(INPUT_OFFSET, n, eof ? 1 : 0, lensPtr, hashPtr, wantHashes ? 1 : 0);
    return {
      count,
      lengths: new Uint32Array(buffer, lensPtr, count),
      hashes: wantHashes ? new BigUint64Array(buffer, hashPtr, count) : void 0
    };
  }
};
function createWasmCutter(params) {
  return new WasmCutter(params);
}

// packages/core/dist/chunker/cutter.js
function createCutter(params, impl = "auto") {
  validateChunkerParams(params);
  const frozen = Object.freeze({
    minSize: params.minSize,
    avgSize: params.avgSize,
    maxSize: params.maxSize,
    level: params.level,
    seed: params.seed
  });
  if (impl === "js")
    return createJsCutter(frozen);
  if (impl === "wasm")
    return createWasmCutter(frozen);
  if (wasmAvailable()) {
    try {
      return createWasmCutter(frozen);
    } catch {
    }
  }
  return createJsCutter(frozen);
}

// packages/core/dist/hash/blake3.js
import { blake3 as nativeBlake3, Blake3Hasher } from "@napi-rs/blake-hash";
var ID_BYTES = 32;
function blake3(data) {
  return nativeBlake3(toBuffer(data));
}
function blake3Hex(data) {
  return blake3(data).toString("hex");
}
function idHasher(key) {
  if (!key)
    return blake3;
  const h = Blake3Hasher.newKeyed(Buffer.from(key));
  return (data) => {
    h.reset();
    h.update(toBuffer(data));
    return h.digestBuffer();
  };
}
function toBuffer(data) {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

// packages/core/dist/hash/id.js
function shortId(id) {
  return id.slice(0, 8);
}

// packages/core/dist/compress/zstd.js
import { createRequire } from "node:module";
var binding = createRequire(import.meta.url)("zstd-napi/binding");
var cctx;
var dctx;
function compressBound(size) {
  return binding.compressBound(size);
}
function compressInto(dst, src, level) {
  if (level === 0 || src.length === 0)
    return -1;
  cctx ??= new binding.CCtx();
  const n = cctx.compress(dst, src, level);
  return n < src.length ? n : -1;
}
function decompressInto(dst, src) {
  dctx ??= new binding.DCtx();
  let n;
  try {
    n = dctx.decompress(dst, src);
  } catch (err) {
    throw corrupt(`zstd frame does not decompress to ${dst.length} bytes: ${err.message}`, err);
  }
  if (n !== dst.length)
    throw corrupt(`blob decompresses to ${n} bytes, expected ${dst.length}`);
}

// packages/core/dist/pack/format.js
var TYPE_CODES = { data: 0, list: 1 };
var TYPES_BY_CODE = ["data", "list"];
var FLAG_COMPRESSED = 1;
var TRAILER_MAGIC = Buffer.from("STWT", "latin1");
var FOOTER_MAGIC = Buffer.from("STOWPAK1", "latin1");
var TRAILER_VERSION = 1;
var ENTRY_BYTES = ID_BYTES + 2 + 12;
var FOOTER_BYTES = 4 + FOOTER_MAGIC.length;
var MAX_PACK_BYTES = 4294967295;
function blobTypeCode(t) {
  return TYPE_CODES[t];
}
function blobTypeOf(code) {
  const t = TYPES_BY_CODE[code];
  if (!t)
    throw corrupt(`unknown blob type code ${code}`);
  return t;
}
function writeEntry(buf, off, e) {
  e.id.copy(buf, off);
  buf[off + 32] = blobTypeCode(e.type);
  buf[off + 33] = e.compressed ? FLAG_COMPRESSED : 0;
  buf.writeUInt32LE(e.offset, off + 34);
  buf.writeUInt32LE(e.length, off + 38);
  buf.writeUInt32LE(e.rawLength, off + 42);
}
function readEntry(buf, off) {
  return {
    id: Buffer.from(buf.subarray(off, off + 32)),
    type: blobTypeOf(buf[off + 32]),
    compressed: (buf[off + 33] & FLAG_COMPRESSED) !== 0,
    offset: buf.readUInt32LE(off + 34),
    length: buf.readUInt32LE(off + 38),
    rawLength: buf.readUInt32LE(off + 42)
  };
}
function encodeTrailer(entries) {
  const body = Buffer.allocUnsafe(4 + 1 + 4 + entries.length * ENTRY_BYTES + ID_BYTES);
  TRAILER_MAGIC.copy(body, 0);
  body[4] = TRAILER_VERSION;
  body.writeUInt32LE(entries.length, 5);
  let off = 9;
  for (const e of entries) {
    writeEntry(body, off, e);
    off += ENTRY_BYTES;
  }
  blake3(body.subarray(0, off)).copy(body, off);
  return body;
}
function decodeTrailer(body, what) {
  if (body.length < 9 + ID_BYTES || !body.subarray(0, 4).equals(TRAILER_MAGIC))
    throw corrupt(`${what}: pack trailer has no valid header`);
  if (body[4] !== TRAILER_VERSION)
    throw corrupt(`${what}: pack trailer version ${body[4]} is not supported`);
  const count = body.readUInt32LE(5);
  const end = 9 + count * ENTRY_BYTES;
  if (body.length !== end + ID_BYTES)
    throw corrupt(`${what}: pack trailer length ${body.length} does not fit ${count} entries`);
  if (!blake3(body.subarray(0, end)).equals(body.subarray(end)))
    throw corrupt(`${what}: pack trailer checksum mismatch`);
  const entries = [];
  for (let off = 9; off < end; off += ENTRY_BYTES)
    entries.push(readEntry(body, off));
  return entries;
}
function encodeFooter(trailerLength) {
  const f = Buffer.allocUnsafe(FOOTER_BYTES);
  f.writeUInt32LE(trailerLength, 0);
  FOOTER_MAGIC.copy(f, 4);
  return f;
}
function decodeFooter(footer, packSize, what) {
  if (footer.length !== FOOTER_BYTES || !footer.subarray(4).equals(FOOTER_MAGIC))
    throw corrupt(`${what}: pack footer magic missing (truncated or not a pack)`);
  const len = footer.readUInt32LE(0);
  if (len + FOOTER_BYTES > packSize)
    throw corrupt(`${what}: pack trailer length ${len} exceeds pack size ${packSize}`);
  return len;
}
function checkEntryBounds(entries, blobAreaEnd, what) {
  for (const e of entries) {
    if (e.offset + e.length > blobAreaEnd)
      throw corrupt(`${what}: blob ${e.id.toString("hex")} lies outside the pack's blob area`);
  }
}

// packages/core/dist/pack/pack-reader.js
var TAIL_GUESS = 64 * 1024;
function parsePackTail(tail, packSize, cipher, what, allowShort = false) {
  if (packSize < FOOTER_BYTES || tail.length < FOOTER_BYTES)
    throw corrupt(`${what}: too short to be a pack (${packSize} bytes)`);
  const trailerLen = decodeFooter(tail.subarray(tail.length - FOOTER_BYTES), packSize, what);
  const need = trailerLen + FOOTER_BYTES;
  if (tail.length < need) {
    if (allowShort)
      return need;
    throw corrupt(`${what}: trailer incomplete`);
  }
  const sealed = tail.subarray(tail.length - need, tail.length - FOOTER_BYTES);
  const entries = decodeTrailer(cipher.open(sealed, `${what} trailer`), what);
  const blobAreaEnd = packSize - need;
  checkEntryBounds(entries, blobAreaEnd, what);
  return { entries, blobAreaEnd };
}
async function readPackTrailer(backend, name, cipher, size) {
  const h = { type: "pack", name };
  const packSize = size ?? (await backend.stat(h)).size;
  const what = `pack ${name}`;
  if (packSize < FOOTER_BYTES)
    throw corrupt(`${what}: too short to be a pack (${packSize} bytes)`);
  const first = Math.min(packSize, TAIL_GUESS);
  const tail = Buffer.from(await backend.load(h, { offset: packSize - first, length: first }));
  const r = parsePackTail(tail, packSize, cipher, what, true);
  if (typeof r !== "number")
    return r;
  if (r > packSize)
    throw corrupt(`${what}: trailer length exceeds pack size`);
  const full = Buffer.from(await backend.load(h, { offset: packSize - r, length: r }));
  return parsePackTail(full, packSize, cipher, what);
}

// packages/core/dist/index/index-file.js
var MAGIC = Buffer.from("STWIDX01", "latin1");
function encodeIndexFile(packs) {
  let size = MAGIC.length + 4 + ID_BYTES;
  for (const p of packs)
    size += ID_BYTES + 4 + p.entries.length * ENTRY_BYTES;
  const buf = Buffer.allocUnsafe(size);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(packs.length, 8);
  let off = 12;
  for (const p of packs) {
    buf.write(p.id, off, "hex");
    buf.writeUInt32LE(p.entries.length, off + 32);
    off += 36;
    for (const e of p.entries) {
      writeEntry(buf, off, e);
      off += ENTRY_BYTES;
    }
  }
  blake3(buf.subarray(0, off)).copy(buf, off);
  return buf;
}
function decodeIndexFile(buf, what) {
  if (buf.length < 12 + ID_BYTES || !buf.subarray(0, 8).equals(MAGIC))
    throw corrupt(`${what}: not an index file (bad magic)`);
  const end = buf.length - ID_BYTES;
  if (!blake3(buf.subarray(0, end)).equals(buf.subarray(end)))
    throw corrupt(`${what}: index file checksum mismatch`);
  const count = buf.readUInt32LE(8);
  const packs = [];
  let off = 12;
  for (let i = 0; i < count; i++) {
    if (off + 36 > end)
      throw corrupt(`${what}: index file truncated`);
    const id = buf.toString("hex", off, off + 32);
    const n = buf.readUInt32LE(off + 32);
    off += 36;
    if (off + n * ENTRY_BYTES > end)
      throw corrupt(`${what}: index file truncated`);
    const entries = [];
    for (let j = 0; j < n; j++, off += ENTRY_BYTES)
      entries.push(readEntry(buf, off));
    packs.push({ id, entries });
  }
  if (off !== end)
    throw corrupt(`${what}: index file has trailing bytes`);
  return packs;
}
function scanIndexFile(buf, what, onPack) {
  if (buf.length < 12 + ID_BYTES || !buf.subarray(0, 8).equals(MAGIC))
    throw corrupt(`${what}: not an index file (bad magic)`);
  const end = buf.length - ID_BYTES;
  if (!blake3(buf.subarray(0, end)).equals(buf.subarray(end)))
    throw corrupt(`${what}: index file checksum mismatch`);
  const count = buf.readUInt32LE(8);
  let off = 12;
  for (let i = 0; i < count; i++) {
    if (off + 36 > end)
      throw corrupt(`${what}: index file truncated`);
    const n = buf.readUInt32LE(off + 32);
    off += 36 + n * ENTRY_BYTES;
    if (off > end)
      throw corrupt(`${what}: index file truncated`);
  }
  if (off !== end)
    throw corrupt(`${what}: index file has trailing bytes`);
  off = 12;
  for (let i = 0; i < count; i++) {
    const pack = buf.toString("hex", off, off + 32);
    const n = buf.readUInt32LE(off + 32);
    off += 36;
    onPack(pack, buf.subarray(off, off + n * ENTRY_BYTES), n);
    off += n * ENTRY_BYTES;
  }
}
var IndexFileBuilder = class {
  parts = [];
  packs = 0;
  /** Entries added since the last `take()`. */
  entries = 0;
  /** Adds a pack with `count` raw entries (ENTRY_BYTES each). */
  addPack(pack, raw, count) {
    if (raw.length !== count * ENTRY_BYTES)
      throw new RangeError(`IndexFileBuilder: ${raw.length} bytes for ${count} entries`);
    const head = Buffer.allocUnsafe(36);
    head.write(pack, 0, "hex");
    head.writeUInt32LE(count, 32);
    this.parts.push(head, raw);
    this.packs++;
    this.entries += count;
  }
  /** True when nothing was added since the last take(). */
  get empty() {
    return this.packs === 0;
  }
  /** The plaintext of an index file of everything added since the last call; resets the builder. */
  take() {
    const head = Buffer.allocUnsafe(12);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(this.packs, 8);
    const body = Buffer.concat([head, ...this.parts]);
    const out = Buffer.concat([body, blake3(body)]);
    this.parts = [];
    this.packs = 0;
    this.entries = 0;
    return out;
  }
};

// packages/core/dist/index/level-index.js
import * as fs2 from "node:fs/promises";
import * as path2 from "node:path";
import { Level } from "level";
var SLOTS = 8;
var META_FILE = Buffer.from([255, 102]);
var META_FILE_END = Buffer.from([255, 103]);
var VALUE_BYTES = ID_BYTES + 2 + 12;
var LevelIndex = class _LevelIndex {
  db;
  location;
  constructor(db, location) {
    this.db = db;
    this.location = location;
  }
  /**
   * Opens the first free slot under `cacheDir` (created if missing). LOCKED when every
   * slot is held by another process. A slot that fails to open for another reason
   * (damaged) is deleted and recreated: it is only a cache.
   */
  static async open(cacheDir) {
    await fs2.mkdir(cacheDir, { recursive: true });
    for (let i = 0; i < SLOTS; i++) {
      const location = path2.join(cacheDir, `index-${i}`);
      const db = await tryOpen(location);
      if (db)
        return new _LevelIndex(db, location);
    }
    throw new StowageError("LOCKED", `all ${SLOTS} index cache slots in ${cacheDir} are in use by other processes`);
  }
  /** Brings the cache up to date with the repository's index files. Returns how many files were absorbed. */
  async sync(source) {
    const names = await source.listIndexFiles();
    const present = new Set(names);
    const absorbed = await this.absorbedFiles();
    let rebuild = false;
    for (const a of absorbed)
      if (!present.has(a))
        rebuild = true;
    if (rebuild) {
      await this.db.clear();
      absorbed.clear();
    }
    let n = 0;
    for (const name of names) {
      if (absorbed.has(name))
        continue;
      await this.absorb(name, await source.loadIndexFile(name));
      n++;
    }
    return n;
  }
  /** Adds the packs of index file `name` (already stored in the repository) in one batch. */
  async absorb(name, packs) {
    const ops = [];
    for (const p of packs) {
      const packId = Buffer.from(p.id, "hex");
      for (const e of p.entries)
        ops.push({ type: "put", key: e.id, value: encodeValue(packId, e) });
    }
    ops.push({ type: "put", key: metaKey(name), value: Buffer.alloc(0) });
    await this.db.batch(ops);
  }
  /** Locations of `ids` in order; undefined where unknown. One LevelDB round trip. */
  async getMany(ids) {
    if (ids.length === 0)
      return [];
    const values = await this.db.getMany(ids);
    return values.map((v) => v ? decodeValue(v) : void 0);
  }
  /** Names of the index files this slot has absorbed. */
  async absorbedFiles() {
    const out = /* @__PURE__ */ new Set();
    for await (const key of this.db.keys({ gte: META_FILE, lt: META_FILE_END }))
      out.add(key.subarray(META_FILE.length).toString("latin1"));
    return out;
  }
  /** Drops everything (the next sync rebuilds). */
  async clear() {
    await this.db.clear();
  }
  async close() {
    await this.db.close();
  }
};
async function tryOpen(location) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const db = new Level(location, { keyEncoding: "buffer", valueEncoding: "buffer" });
    try {
      await db.open();
      return db;
    } catch (err) {
      const cause = err.cause;
      if (cause?.code === "LEVEL_LOCKED")
        return void 0;
      if (attempt === 0) {
        await fs2.rm(location, { recursive: true, force: true });
        continue;
      }
      throw new StowageError("BACKEND", `cannot open index cache ${location}: ${err.message}`, { cause: err });
    }
  }
  return void 0;
}
function metaKey(name) {
  return Buffer.concat([META_FILE, Buffer.from(name, "latin1")]);
}
function encodeValue(packId, e) {
  const v = Buffer.allocUnsafe(VALUE_BYTES);
  packId.copy(v, 0);
  v[32] = blobTypeCode(e.type);
  v[33] = e.compressed ? FLAG_COMPRESSED : 0;
  v.writeUInt32LE(e.offset, 34);
  v.writeUInt32LE(e.length, 38);
  v.writeUInt32LE(e.rawLength, 42);
  return v;
}
function decodeValue(v) {
  return {
    pack: v.toString("hex", 0, 32),
    type: blobTypeOf(v[32]),
    compressed: (v[33] & FLAG_COMPRESSED) !== 0,
    offset: v.readUInt32LE(34),
    length: v.readUInt32LE(38),
    rawLength: v.readUInt32LE(42)
  };
}

// packages/core/dist/repository/aead.js
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync } from "node:crypto";
var AES_GCM = "aes-256-gcm";
var AES_GCM_KEY_BYTES = 32;
var AES_GCM_NONCE_BYTES = 12;
var AES_GCM_TAG_BYTES = 16;
var NONCE_POOL_BYTES = AES_GCM_NONCE_BYTES * 512;
var AesGcmCipher = class {
  name = AES_GCM;
  overhead = AES_GCM_NONCE_BYTES + AES_GCM_TAG_BYTES;
  /** A KeyObject: imported once, not per message. */
  #key;
  #pool = Buffer.allocUnsafe(NONCE_POOL_BYTES);
  #poolPos = NONCE_POOL_BYTES;
  constructor(key) {
    if (key.length !== AES_GCM_KEY_BYTES)
      throw new TypeError(`aes-256-gcm needs a ${AES_GCM_KEY_BYTES}-byte key, got ${key.length}`);
    this.#key = createSecretKey(Buffer.from(key));
  }
  seal(plain) {
    const out = Buffer.allocUnsafe(plain.length + this.overhead);
    this.sealInto(out, 0, plain);
    return out;
  }
  sealInto(dst, offset, plain) {
    const out = Buffer.isBuffer(dst) ? dst : Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength);
    if (offset + plain.length + this.overhead > out.length)
      throw new RangeError("sealInto: destination too small");
    const nonce = this.#nonce();
    nonce.copy(out, offset);
    const c = createCipheriv(AES_GCM, this.#key, nonce, { authTagLength: AES_GCM_TAG_BYTES });
    let off = offset + AES_GCM_NONCE_BYTES;
    off += c.update(plain).copy(out, off);
    off += c.final().copy(out, off);
    off += c.getAuthTag().copy(out, off);
    return off - offset;
  }
  open(sealed, what) {
    if (sealed.length < this.overhead)
      throw corrupt(`${what}: too short to be sealed (${sealed.length} bytes)`);
    const s = Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const tagAt = s.length - AES_GCM_TAG_BYTES;
    const d = createDecipheriv(AES_GCM, this.#key, s.subarray(0, AES_GCM_NONCE_BYTES), { authTagLength: AES_GCM_TAG_BYTES });
    d.setAuthTag(s.subarray(tagAt));
    const body = d.update(s.subarray(AES_GCM_NONCE_BYTES, tagAt));
    try {
      d.final();
    } catch (err) {
      body.fill(0);
      throw corrupt(`${what}: authentication failed (damaged, or not sealed with this repository's key)`, err);
    }
    return body;
  }
  #nonce() {
    if (this.#poolPos + AES_GCM_NONCE_BYTES > this.#pool.length) {
      this.#pool = randomFillSync(Buffer.allocUnsafe(NONCE_POOL_BYTES));
      this.#poolPos = 0;
    }
    const n = this.#pool.subarray(this.#poolPos, this.#poolPos + AES_GCM_NONCE_BYTES);
    this.#poolPos += AES_GCM_NONCE_BYTES;
    return n;
  }
};

// packages/core/dist/repository/cipher.js
var NULL_CIPHER = {
  name: "none",
  overhead: 0,
  seal: (plain) => asBuffer(plain),
  sealInto: (dst, offset, plain) => (dst.set(plain, offset), plain.length),
  open: (sealed) => asBuffer(sealed)
};
function asBuffer(u) {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

// packages/core/dist/repository/cipher-spec.js
function cipherFromSpec(spec) {
  switch (spec.algorithm) {
    case "none":
      return NULL_CIPHER;
    case AES_GCM:
      return new AesGcmCipher(spec.key);
    default:
      throw new TypeError(`unknown cipher ${spec.algorithm}`);
  }
}

// packages/core/dist/repository/blob-codec.js
var BlobCodec = class {
  spec;
  cipher;
  hash;
  scratch = Buffer.alloc(0);
  /** Compressed bytes of one blob before sealing (encrypted repositories). */
  zbuf = Buffer.alloc(0);
  constructor(spec) {
    this.spec = spec;
    this.cipher = cipherFromSpec(spec.cipher);
    this.hash = idHasher(spec.idKey);
  }
  /** Encodes consecutive blobs of `data` (lengths given). */
  encode(data, lengths) {
    if (this.cipher.overhead === 0)
      return this.encodePlain(data, lengths);
    return this.encodeSealed(data, lengths);
  }
  /**
   * Encrypted repositories: compress each blob into a reused buffer and seal it straight
   * into one output buffer; verification opens the sealed bytes (AEAD tag included).
   */
  encodeSealed(data, lengths) {
    let bound = 0;
    let maxLen = 0;
    for (const len of lengths) {
      bound += len + this.cipher.overhead;
      if (len > maxLen)
        maxLen = len;
    }
    if (this.zbuf.length < compressBound(maxLen))
      this.zbuf = Buffer.allocUnsafeSlow(compressBound(maxLen));
    const out = Buffer.allocUnsafeSlow(bound);
    const storedLengths = [];
    const compressedFlags = [];
    let off = 0;
    let pos = 0;
    for (const len of lengths) {
      const plain = data.subarray(off, off + len);
      off += len;
      const n = compressInto(this.zbuf, plain, this.spec.level);
      const compressed = n >= 0;
      const m = this.cipher.sealInto(out, pos, compressed ? this.zbuf.subarray(0, n) : plain);
      if (this.spec.verify !== false)
        this.verifyEncoded(plain, this.cipher.open(out.subarray(pos, pos + m), "freshly encoded blob"), compressed);
      storedLengths.push(m);
      compressedFlags.push(compressed);
      pos += m;
    }
    return { stored: out.subarray(0, pos), storedLengths, compressed: compressedFlags };
  }
  /** Plaintext repositories: compress every blob straight into one output buffer. */
  encodePlain(data, lengths) {
    let bound = 0;
    for (const len of lengths)
      bound += compressBound(len);
    const out = Buffer.allocUnsafeSlow(bound);
    const storedLengths = [];
    const compressedFlags = [];
    let off = 0;
    let pos = 0;
    for (const len of lengths) {
      const plain = data.subarray(off, off + len);
      off += len;
      let n = compressInto(out.subarray(pos), plain, this.spec.level);
      const compressed = n >= 0;
      if (!compressed) {
        out.set(plain, pos);
        n = len;
      }
      if (this.spec.verify !== false)
        this.verifyEncoded(plain, out.subarray(pos, pos + n), compressed);
      storedLengths.push(n);
      compressedFlags.push(compressed);
      pos += n;
    }
    return { stored: out.subarray(0, pos), storedLengths, compressed: compressedFlags };
  }
  /** Re-decodes a freshly encoded blob and compares it with its plaintext (guards against codec bugs). */
  verifyEncoded(plain, stored, compressed) {
    let back = stored;
    if (compressed) {
      if (this.scratch.length < plain.length)
        this.scratch = Buffer.allocUnsafe(Math.max(plain.length, 1 << 20));
      back = this.scratch.subarray(0, plain.length);
      decompressInto(back, stored);
    }
    if (Buffer.compare(back, plain) !== 0)
      throw new Error("internal error: encoded blob does not decode to its plaintext");
  }
  /** Decodes and verifies blobs into one buffer; CORRUPT naming the blob when one does not match its id. */
  decode(data, items, what) {
    let total = 0;
    for (const it of items)
      total += it.rawLength;
    const out = Buffer.allocUnsafeSlow(total);
    return { plain: out, lengths: this.decodeInto(data, items, out, what) };
  }
  /**
   * Decodes and verifies blobs into `out` (consecutively, from its start; it must hold the
   * sum of the items' raw lengths, and may be shared memory). Returns the lengths.
   */
  decodeInto(data, items, out, what) {
    const lengths = [];
    let pos = 0;
    for (const it of items) {
      const idHex = () => Buffer.from(it.id).toString("hex");
      if (it.offset + it.length > data.length)
        throw corrupt(`blob ${idHex()} in ${what}: stored bytes missing (pack truncated?)`);
      if (pos + it.rawLength > out.length)
        throw new RangeError("decodeInto: output buffer too small");
      const dst = out.subarray(pos, pos + it.rawLength);
      try {
        const opened = this.cipher.open(data.subarray(it.offset, it.offset + it.length), `blob ${idHex()} in ${what}`);
        if (it.compressed)
          decompressInto(dst, opened);
        else if (opened.length !== it.rawLength)
          throw corrupt(`raw blob has ${opened.length} bytes, expected ${it.rawLength}`);
        else
          dst.set(opened);
      } catch (err) {
        if (err instanceof StowageError) {
          const prefix = `blob ${idHex()} in ${what}`;
          throw corrupt(err.message.startsWith(prefix) ? err.message : `${prefix}: ${err.message}`, err);
        }
        throw err;
      }
      if (!this.hash(dst).equals(it.id))
        throw corrupt(`blob ${idHex()} in ${what}: content does not match its id (hash mismatch)`);
      lengths.push(it.rawLength);
      pos += it.rawLength;
    }
    return lengths;
  }
  /** Id of a plaintext under this repository's id hash. */
  id(plain) {
    return this.hash(plain);
  }
};

// packages/core/dist/repository/cache-dir.js
import { homedir } from "node:os";
import * as path3 from "node:path";
function defaultCacheRoot(env2 = process.env) {
  if (env2.STOWAGE_CACHE_DIR)
    return path3.resolve(env2.STOWAGE_CACHE_DIR);
  if (env2.XDG_CACHE_HOME)
    return path3.join(env2.XDG_CACHE_HOME, "stowage");
  return path3.join(homedir(), ".cache", "stowage");
}
function repoCacheDir(root, repoId) {
  return path3.join(root, repoId);
}

// packages/core/dist/repository/codec-pool.js
import { createHash as createHash4 } from "node:crypto";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

// packages/core/dist/image/verify.js
import { createHash as createHash3 } from "node:crypto";

// packages/core/dist/image/facts.js
import { createHash as createHash2 } from "node:crypto";
import * as path4 from "node:path/posix";
var OCI_INDEX = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
var DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
var MAX_INDEX_DEPTH = 4;
var DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
function imageFacts(members) {
  const archive = new Archive(members);
  if (archive.has("oci-layout") && archive.has("index.json"))
    return ociFacts(archive);
  const manifest = archive.get("manifest.json");
  if (manifest) {
    const parsed = parseJson(manifest.data);
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((e) => isObject(e) && "Config" in e && "Layers" in e))
      return dockerFacts(archive, parsed);
  }
  return void 0;
}
function imageNames(f) {
  return [.../* @__PURE__ */ new Set([...f.names, ...(f.others ?? []).flatMap((o) => o.names)])];
}
function allLayers(f) {
  const seen = /* @__PURE__ */ new Set();
  const out = [];
  for (const e of [f, ...f.others ?? []]) {
    for (const l of e.layers) {
      const k = `${l.offset}:${l.length}`;
      if (seen.has(k))
        continue;
      seen.add(k);
      out.push(l);
    }
  }
  return out;
}
function findLayer(f, ref) {
  const layers = allLayers(f);
  const r = ref.trim().toLowerCase();
  const exact = layers.filter((l) => l.digest === r || l.digest === `sha256:${r}` || l.diffId === r || l.diffId === `sha256:${r}` || l.path === ref);
  if (exact.length)
    return exact.length === 1 ? exact[0] : exact;
  const hex = r.replace(/^sha(256|512):/, "");
  if (!/^[0-9a-f]{8,}$/.test(hex))
    return void 0;
  const pre = layers.filter((l) => l.digest?.split(":")[1]?.startsWith(hex) || l.diffId?.split(":")[1]?.startsWith(hex));
  return pre.length === 0 ? void 0 : pre.length === 1 ? pre[0] : pre;
}
function digestedRanges(f) {
  const seen = /* @__PURE__ */ new Set();
  const out = [];
  const add = (kind, digest, r) => {
    if (!digest || !r || !DIGEST.test(digest))
      return;
    const k = `${digest}@${r.offset}:${r.length}`;
    if (seen.has(k))
      return;
    seen.add(k);
    out.push({ path: r.path, offset: r.offset, length: r.length, digest, what: `${kind} ${digest}` });
  };
  for (const e of [f, ...f.others ?? []]) {
    add("manifest", e.manifestDigest, e.manifest);
    add("config", e.configDigest, e.config);
    for (const l of e.layers)
      add("layer", l.digest, l);
  }
  return out.sort((a, b) => a.offset - b.offset);
}
function dockerFacts(archive, entries) {
  const warnings = [];
  const images = entries.map((e, i) => dockerImage(archive, e, `manifest.json entry ${i}`, warnings));
  const [first, ...others] = images;
  return { kind: "docker", ...first, ...others.length && { others }, ...warnings.length && { warnings } };
}
function dockerImage(archive, e, where, warnings) {
  const names = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t) => typeof t === "string") : [];
  let configDigest;
  let config;
  let platform;
  let diffIds = [];
  if (typeof e.Config !== "string") {
    warnings.push(`${where}: no Config`);
  } else {
    const m = archive.resolve(e.Config);
    if (!m) {
      warnings.push(`${where}: config ${e.Config} is not in the archive`);
    } else {
      config = { path: m.path, offset: m.member.offset, length: m.member.size };
      const named = digestFromName(m.path);
      const actual = m.member.data ? sha256(m.member.data) : void 0;
      if (named && actual && named !== actual)
        warnings.push(`config ${m.path} has ${actual}, not the digest its name states`);
      configDigest = named ?? actual;
      const cfg = m.member.data ? parseJson(m.member.data) : void 0;
      if (m.member.data && !isObject(cfg))
        warnings.push(`config ${m.path} is not valid JSON`);
      if (isObject(cfg)) {
        platform = platformOf(cfg);
        const rootfs = cfg.rootfs;
        if (isObject(rootfs) && Array.isArray(rootfs.diff_ids))
          diffIds = rootfs.diff_ids.map((d) => typeof d === "string" ? d : "");
      }
    }
  }
  const layers = [];
  const layerPaths = Array.isArray(e.Layers) ? e.Layers : [];
  if (!Array.isArray(e.Layers))
    warnings.push(`${where}: Layers is not a list`);
  layerPaths.forEach((p, i) => {
    if (typeof p !== "string")
      return void warnings.push(`${where}: layer ${i} is not a path`);
    const m = archive.resolve(p);
    if (!m)
      return void warnings.push(`${where}: layer ${p} is not in the archive`);
    const diffId = diffIds[i] && DIGEST.test(diffIds[i]) ? diffIds[i] : void 0;
    const compression = m.member.compression;
    const digest = digestFromName(m.path) ?? digestFromName(p) ?? (compression ? void 0 : diffId);
    layers.push({
      path: m.path,
      offset: m.member.offset,
      length: m.member.size,
      ...digest && { digest },
      ...diffId && { diffId },
      mediaType: compression ? `${DOCKER_LAYER}.${compression}` : DOCKER_LAYER,
      size: m.member.size
    });
  });
  if (diffIds.length && diffIds.length !== layerPaths.length)
    warnings.push(`${where}: ${layerPaths.length} layers, but the config lists ${diffIds.length} diff_ids`);
  return { names, ...configDigest && { configDigest }, ...config && { config }, ...platform && { platform }, layers };
}
function ociFacts(archive) {
  const warnings = [];
  const layout = parseJson(archive.get("oci-layout")?.data);
  if (!isObject(layout) || typeof layout.imageLayoutVersion !== "string")
    warnings.push("oci-layout is not a valid image layout file");
  const index = parseJson(archive.get("index.json")?.data);
  const images = [];
  if (!isObject(index) || !Array.isArray(index.manifests)) {
    warnings.push("index.json is not a valid image index");
  } else {
    walkIndex(archive, index.manifests, [], 0, images, warnings);
    if (images.length === 0 && warnings.length === 0)
      warnings.push("index.json names no image manifest");
  }
  const docker = parseJson(archive.get("manifest.json")?.data);
  if (Array.isArray(docker) && images.length > 0) {
    const tags = docker.flatMap((e) => isObject(e) && Array.isArray(e.RepoTags) ? e.RepoTags.filter((t) => typeof t === "string") : []);
    const first2 = images[0];
    images[0] = { ...first2, names: [.../* @__PURE__ */ new Set([...first2.names, ...tags])] };
  }
  const [first, ...others] = images;
  return { kind: "oci", ...first ?? { names: [], layers: [] }, ...others.length && { others }, ...warnings.length && { warnings } };
}
function walkIndex(archive, descs, names, depth, images, warnings) {
  for (const d of descs) {
    if (!isObject(d) || typeof d.digest !== "string" || !DIGEST.test(d.digest)) {
      warnings.push("an index entry has no valid digest");
      continue;
    }
    const refNames = [...names, ...annotationNames(d.annotations)];
    const blob = archive.blob(d.digest);
    if (!blob) {
      warnings.push(`manifest ${d.digest} named by the index is not in the archive`);
      continue;
    }
    if (!blob.member.data) {
      warnings.push(`manifest ${d.digest} is too large to read`);
      continue;
    }
    const actual = digestOf(d.digest, blob.member.data);
    if (actual !== d.digest) {
      warnings.push(`manifest blob ${blob.path} does not match its digest (it has ${actual})`);
      continue;
    }
    const doc = parseJson(blob.member.data);
    if (!isObject(doc)) {
      warnings.push(`manifest ${d.digest} is not valid JSON`);
      continue;
    }
    const mediaType = typeof d.mediaType === "string" ? d.mediaType : typeof doc.mediaType === "string" ? doc.mediaType : "";
    if (OCI_INDEX.includes(mediaType) || Array.isArray(doc.manifests) && !Array.isArray(doc.layers)) {
      if (depth >= MAX_INDEX_DEPTH)
        warnings.push(`index ${d.digest}: indexes nested too deep`);
      else if (Array.isArray(doc.manifests))
        walkIndex(archive, doc.manifests, refNames, depth + 1, images, warnings);
      continue;
    }
    images.push(ociImage(archive, d.digest, { path: blob.path, offset: blob.member.offset, length: blob.member.size }, doc, refNames, warnings));
  }
}
function ociImage(archive, digest, manifest, doc, names, warnings) {
  let configDigest;
  let config;
  let platform;
  const c = doc.config;
  if (!isObject(c) || typeof c.digest !== "string" || !DIGEST.test(c.digest)) {
    warnings.push(`manifest ${digest}: no valid config descriptor`);
  } else {
    configDigest = c.digest;
    const b = archive.blob(c.digest);
    if (!b) {
      warnings.push(`config ${c.digest} is not in the archive`);
    } else {
      config = { path: b.path, offset: b.member.offset, length: b.member.size };
      if (b.member.data) {
        const actual = digestOf(c.digest, b.member.data);
        if (actual !== c.digest)
          warnings.push(`config blob ${b.path} does not match its digest (it has ${actual})`);
        const cfg = parseJson(b.member.data);
        if (isObject(cfg))
          platform = platformOf(cfg);
      }
    }
  }
  const layers = [];
  if (!Array.isArray(doc.layers))
    warnings.push(`manifest ${digest}: no layers list`);
  for (const l of Array.isArray(doc.layers) ? doc.layers : []) {
    if (!isObject(l) || typeof l.digest !== "string" || !DIGEST.test(l.digest)) {
      warnings.push(`manifest ${digest}: a layer has no valid digest`);
      continue;
    }
    const b = archive.blob(l.digest);
    const mediaType = typeof l.mediaType === "string" ? l.mediaType : "application/vnd.oci.image.layer.v1.tar";
    if (!b) {
      if (!/nondistributable|foreign/.test(mediaType))
        warnings.push(`layer ${l.digest} is not in the archive`);
      continue;
    }
    const size = typeof l.size === "number" ? l.size : b.member.size;
    if (size !== b.member.size)
      warnings.push(`layer ${l.digest}: the manifest says ${size} bytes, the archive holds ${b.member.size}`);
    layers.push({ path: b.path, offset: b.member.offset, length: b.member.size, digest: l.digest, mediaType, size });
  }
  return { names: [...new Set(names)], manifestDigest: digest, manifest, ...configDigest && { configDigest }, ...config && { config }, ...platform && { platform }, layers };
}
function annotationNames(a) {
  if (!isObject(a))
    return [];
  return ["io.containerd.image.name", "org.opencontainers.image.ref.name"].map((k) => a[k]).filter((v) => typeof v === "string" && v !== "");
}
var Archive = class {
  byPath = /* @__PURE__ */ new Map();
  constructor(members) {
    for (const m of members)
      this.byPath.set(normalize2(m.name), m);
  }
  has(p) {
    return this.byPath.has(normalize2(p));
  }
  get(p) {
    return this.byPath.get(normalize2(p));
  }
  /** The member holding the data at `p`, following symlinks and hard links (a few hops). */
  resolve(p) {
    let cur = normalize2(p);
    for (let hops = 0; hops < 8; hops++) {
      const m = this.byPath.get(cur);
      if (!m)
        return void 0;
      if (m.type === "2" && m.linkname !== void 0)
        cur = normalize2(m.linkname.startsWith("/") ? m.linkname : path4.join(path4.dirname(cur), m.linkname));
      else if (m.type === "1" && m.linkname !== void 0)
        cur = normalize2(m.linkname);
      else
        return m.type === "0" || m.type === "\0" || m.type === "7" ? { path: cur, member: m } : void 0;
    }
    return void 0;
  }
  blob(digest) {
    const [alg, hex] = digest.split(":");
    return this.resolve(`blobs/${alg}/${hex}`);
  }
};
function normalize2(p) {
  const n = path4.normalize(`/${p}`).replace(/^\/+/, "").replace(/\/+$/, "");
  return n;
}
function digestFromName(p) {
  const blob = /(?:^|\/)blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(p);
  if (blob && DIGEST.test(`${blob[1]}:${blob[2]}`))
    return `${blob[1]}:${blob[2]}`;
  const base = /(?:^|\/)(?:sha256:)?([0-9a-f]{64})(?:\.tar|\.json|\.tar\.gz)?$/.exec(p);
  return base ? `sha256:${base[1]}` : void 0;
}
function digestOf(like, data) {
  const alg = like.startsWith("sha512:") ? "sha512" : "sha256";
  return `${alg}:${createHash2(alg).update(data).digest("hex")}`;
}
function sha256(data) {
  return digestOf("sha256:", data);
}
function platformOf(cfg) {
  if (typeof cfg.os !== "string" || typeof cfg.architecture !== "string")
    return void 0;
  return [cfg.os, cfg.architecture, ...typeof cfg.variant === "string" ? [cfg.variant] : []].join("/");
}
function parseJson(data) {
  if (!data)
    return void 0;
  try {
    return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
  } catch {
    return void 0;
  }
}
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// packages/core/dist/image/verify.js
var RangeHasher = class {
  rangesSorted;
  hashes;
  fed;
  /** Index of the first range not yet wholly behind the stream position. */
  first = 0;
  constructor(ranges) {
    this.rangesSorted = [...ranges].sort((a, b) => a.offset - b.offset);
    this.hashes = this.rangesSorted.map(() => void 0);
    this.fed = this.rangesSorted.map(() => 0);
  }
  /** The ranges, in offset order (to hash them elsewhere, e.g. on a worker thread). */
  get ranges() {
    return this.rangesSorted;
  }
  get count() {
    return this.rangesSorted.length;
  }
  /** Bytes covered by the ranges (what the check costs to hash). */
  get bytes() {
    return this.rangesSorted.reduce((a, r) => a + r.length, 0);
  }
  /** Feeds `pieces`, which start at stream offset `offset`. */
  update(pieces, offset) {
    let pos = offset;
    for (const p of pieces) {
      this.piece(p, pos);
      pos += p.length;
    }
  }
  piece(p, pos) {
    const end = pos + p.length;
    while (this.first < this.rangesSorted.length && this.rangesSorted[this.first].offset + this.rangesSorted[this.first].length <= pos)
      this.first++;
    for (let i = this.first; i < this.rangesSorted.length; i++) {
      const r = this.rangesSorted[i];
      if (r.offset >= end)
        break;
      const from = Math.max(r.offset, pos);
      const to = Math.min(r.offset + r.length, end);
      if (to <= from)
        continue;
      let h = this.hashes[i];
      if (!h)
        this.hashes[i] = h = createHash3(r.digest.startsWith("sha512:") ? "sha512" : "sha256");
      h.update(p.subarray(from - pos, to - pos));
      this.fed[i] += to - from;
    }
  }
  /** The ranges whose bytes do not hash to their digest (or were not all seen). */
  mismatches() {
    const out = [];
    this.rangesSorted.forEach((r, i) => {
      const alg = r.digest.startsWith("sha512:") ? "sha512" : "sha256";
      const h = this.hashes[i] ?? createHash3(alg);
      const actual = this.fed[i] === r.length ? `${alg}:${h.digest("hex")}` : `(only ${this.fed[i]} of ${r.length} bytes)`;
      if (actual !== r.digest)
        out.push({ what: r.what, path: r.path, expected: r.digest, actual });
    });
    return out;
  }
};
function imageRangeHasher(snap) {
  if (!snap.image)
    return void 0;
  const ranges = digestedRanges(snap.image).filter((r) => r.offset + r.length <= snap.source.size);
  return ranges.length ? new RangeHasher(ranges) : void 0;
}
function describeMismatches(bad) {
  return bad.map((m) => `${m.what} (${m.path}): restored bytes have ${m.actual}`).join("; ");
}

// packages/core/dist/repository/codec-pool.js
function defaultWorkerCount() {
  return Math.max(1, Math.min(8, availableParallelism()));
}
var CodecPool = class {
  spec;
  maxWorkers;
  inline;
  slots = [];
  pending = /* @__PURE__ */ new Map();
  seq = 0;
  closed = false;
  failure;
  inlineSha;
  inlineRanger;
  /** `maxWorkers` = 0 runs every job inline on the calling thread. */
  constructor(spec, maxWorkers) {
    this.spec = spec;
    this.maxWorkers = maxWorkers;
    this.inline = new BlobCodec(spec);
  }
  /** Workers started so far. */
  get size() {
    return this.slots.length;
  }
  /** Encodes consecutive blobs of `data`; `data`'s memory is transferred to the worker. */
  encode(data, lengths) {
    if (this.maxWorkers === 0)
      return Promise.resolve().then(() => this.inline.encode(data, lengths));
    if (this.slots.length === 0 || this.slots.length < this.maxWorkers && this.slots.every((s) => s.outstanding > 0))
      this.spawn();
    return this.post({ seq: 0, op: "encode", data, lengths }, [data]).then((r) => {
      const x = r;
      return { stored: Buffer.from(x.stored.buffer, x.stored.byteOffset, x.stored.byteLength), storedLengths: x.storedLengths, compressed: x.compressed };
    });
  }
  /** Decodes and verifies blobs from `data`; `data`'s memory is transferred to the worker. */
  decode(data, items, what) {
    if (this.maxWorkers === 0)
      return Promise.resolve().then(() => this.inline.decode(data, items, what));
    while (this.slots.length < this.maxWorkers)
      this.spawn();
    return this.post({ seq: 0, op: "decode", data, items, what }, [data]).then((r) => {
      const x = r;
      return { plain: Buffer.from(x.plain.buffer, x.plain.byteOffset, x.plain.byteLength), lengths: x.lengths };
    });
  }
  /**
   * Decodes and verifies blobs from `data` into `out` (both may be shared memory, which
   * is read and written in place); resolves with the lengths.
   */
  decodeInto(data, items, out, what) {
    if (this.maxWorkers === 0)
      return Promise.resolve().then(() => this.inline.decodeInto(data, items, out, what));
    while (this.slots.length < this.maxWorkers)
      this.spawn();
    let slot = this.slots[0];
    for (const s of this.slots)
      if (s.outstanding < slot.outstanding)
        slot = s;
    return this.postTo(slot, { seq: 0, op: "decode-into", data, items, out, what }, []);
  }
  /**
   * Feeds the running SHA-256 with `pieces`, in call order. With workers, pieces in
   * ordinary memory are transferred (the caller must be done with them); pieces in
   * shared memory are read in place, and the promise resolves once they are hashed
   * (so their slot may be reused).
   */
  shaUpdate(pieces) {
    if (this.maxWorkers === 0) {
      this.inlineSha ??= createHash4("sha256");
      for (const p of pieces)
        this.inlineSha.update(p);
      return Promise.resolve();
    }
    if (this.slots.length === 0)
      this.spawn();
    const buffers = /* @__PURE__ */ new Set();
    let shared = false;
    for (const p of pieces) {
      if (p.buffer instanceof ArrayBuffer) {
        if (p.buffer.byteLength !== Buffer.poolSize)
          buffers.add(p.buffer);
      } else {
        shared = true;
      }
    }
    if (shared)
      return this.postTo(this.slots[0], { seq: 0, op: "sha-update", data: pieces, ack: true }, [...buffers]).then(() => void 0);
    this.slots[0].worker.postMessage({ seq: 0, op: "sha-update", data: pieces }, [...buffers]);
    return Promise.resolve();
  }
  /**
   * Hashes byte ranges of the stream (image layers) on another worker than the running
   * SHA-256, so the two passes run side by side. rangeUpdate must see every piece, in
   * order, before shaUpdate is given (and may take over) the same pieces.
   */
  rangeStart(ranges) {
    if (this.maxWorkers === 0) {
      this.inlineRanger = new RangeHasher(ranges);
      return;
    }
    while (this.slots.length < Math.min(2, this.maxWorkers))
      this.spawn();
    this.rangeSlot().worker.postMessage({ seq: 0, op: "range-start", ranges });
  }
  /** Feeds pieces (starting at stream `offset`); resolves once hashed (shared memory) or at once (copied). */
  rangeUpdate(pieces, offset) {
    if (this.maxWorkers === 0) {
      this.inlineRanger?.update(pieces, offset);
      return Promise.resolve();
    }
    const shared = pieces.some((p) => !(p.buffer instanceof ArrayBuffer));
    if (shared)
      return this.postTo(this.rangeSlot(), { seq: 0, op: "range-update", data: pieces, offset, ack: true }, []).then(() => void 0);
    this.rangeSlot().worker.postMessage({ seq: 0, op: "range-update", data: pieces, offset });
    return Promise.resolve();
  }
  /** The ranges whose bytes did not match their digest. */
  async rangeResult() {
    if (this.maxWorkers === 0) {
      const bad = this.inlineRanger?.mismatches() ?? [];
      this.inlineRanger = void 0;
      return bad;
    }
    return await this.postTo(this.rangeSlot(), { seq: 0, op: "range-result" }, []);
  }
  rangeSlot() {
    return this.slots[1] ?? this.slots[0];
  }
  /** The hex SHA-256 of everything passed to shaUpdate since the last digest. */
  async shaDigest() {
    if (this.maxWorkers === 0 || this.slots.length === 0) {
      const hex = (this.inlineSha ?? createHash4("sha256")).digest("hex");
      this.inlineSha = void 0;
      return hex;
    }
    return await this.postTo(this.slots[0], { seq: 0, op: "sha-digest" }, []);
  }
  async close() {
    if (this.closed)
      return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.failAll(new StowageError("ABORTED", "codec pool closed"));
  }
  spawn() {
    const worker = new Worker(workerUrl(), { workerData: this.spec });
    const slot = { worker, outstanding: 0 };
    worker.on("message", (m) => this.onMessage(m));
    worker.on("error", (err) => this.failAll(err));
    worker.unref();
    this.slots.push(slot);
  }
  post(req, data) {
    let slot = this.slots[0];
    for (const s of this.slots)
      if (s.outstanding < slot.outstanding)
        slot = s;
    const transfer = [];
    for (const d of data) {
      const whole = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer && d.buffer.byteLength !== Buffer.poolSize;
      if (whole)
        transfer.push(d.buffer);
    }
    return this.postTo(slot, req, transfer);
  }
  postTo(slot, req, transfer) {
    if (this.failure)
      return Promise.reject(this.failure);
    if (this.closed)
      return Promise.reject(new StowageError("ABORTED", "codec pool closed"));
    const seq = ++this.seq;
    return new Promise((resolve6, reject) => {
      this.pending.set(seq, { resolve: resolve6, reject, slot });
      if (slot.outstanding++ === 0)
        slot.worker.ref();
      slot.worker.postMessage({ ...req, seq }, transfer);
    });
  }
  onMessage(m) {
    const p = this.pending.get(m.seq);
    if (!p)
      return;
    this.pending.delete(m.seq);
    if (--p.slot.outstanding === 0)
      p.slot.worker.unref();
    if (m.ok)
      p.resolve(m.result);
    else
      p.reject(m.code ? new StowageError(m.code, m.message) : new Error(m.message));
  }
  failAll(err) {
    this.failure ??= err;
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(err);
    }
  }
};
function workerUrl() {
  const here = new URL("./codec-worker.js", import.meta.url);
  if (existsSync(here))
    return here;
  return new URL("../../dist/repository/codec-worker.js", import.meta.url);
}

// packages/core/dist/repository/config.js
import { randomBytes as randomBytes2 } from "node:crypto";
var FORMAT_VERSION = 1;
var DEFAULT_CHUNK_AVG = 256 * 1024;
var DEFAULT_COMPRESSION_LEVEL = 3;
var DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
var MIN_PACK_SIZE = 64 * 1024;
var MAX_PACK_SIZE = 1024 * 1024 * 1024;
function newConfig(opts = {}) {
  const avg = opts.chunkAvg ?? DEFAULT_CHUNK_AVG;
  const chunker = {
    algorithm: "fastcdc-2020",
    minSize: opts.chunkMin ?? Math.max(64, Math.floor(avg / 4)),
    avgSize: avg,
    maxSize: opts.chunkMax ?? Math.min(16 * 1024 * 1024, avg * 4),
    level: opts.chunkLevel ?? 1,
    seed: "0"
  };
  const config = {
    version: FORMAT_VERSION,
    id: randomBytes2(32).toString("hex"),
    chunker,
    hash: opts.encryption === "aes-256-gcm" ? "blake3-keyed" : "blake3",
    compression: { algorithm: "zstd", level: opts.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL },
    packSize: opts.packSize ?? DEFAULT_PACK_SIZE,
    encryption: opts.encryption === "aes-256-gcm" ? { algorithm: "aes-256-gcm", kdf: "scrypt" } : { algorithm: "none" }
  };
  validateConfig(config);
  return config;
}
function chunkerParams(config, seed) {
  const c = config.chunker;
  return { minSize: c.minSize, avgSize: c.avgSize, maxSize: c.maxSize, level: c.level, seed: seed ?? BigInt(c.seed) };
}
function validateConfig(config) {
  validateChunkerParams(chunkerParams(config));
  const lvl = config.compression.level;
  if (!Number.isInteger(lvl) || lvl < 0 || lvl > 22)
    throw new StowageError("INVALID_ARGUMENT", `compression level must be an integer 0..22 (0 = store raw), got ${lvl}`);
  const ps = config.packSize;
  if (!Number.isInteger(ps) || ps < MIN_PACK_SIZE || ps > MAX_PACK_SIZE)
    throw new StowageError("INVALID_ARGUMENT", `pack size must be between ${MIN_PACK_SIZE} and ${MAX_PACK_SIZE} bytes, got ${ps}`);
}
function parseConfig(bytes) {
  let c;
  try {
    c = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new StowageError("CORRUPT", "repository config is not valid JSON", { cause: err });
  }
  if (typeof c !== "object" || c === null || typeof c.version !== "number")
    throw new StowageError("CORRUPT", "repository config has no version");
  if (c.version !== FORMAT_VERSION)
    throw new StowageError("UNSUPPORTED_FORMAT", `repository format version ${c.version} is not supported by this stowage (supports ${FORMAT_VERSION})`);
  try {
    validateConfig(c);
  } catch (err) {
    throw new StowageError("CORRUPT", `repository config is invalid: ${err.message}`, { cause: err });
  }
  return c;
}

// packages/core/dist/repository/keys.js
import { createCipheriv as createCipheriv2, createDecipheriv as createDecipheriv2, hkdfSync, randomBytes as randomBytes3 } from "node:crypto";
import { availableParallelism as availableParallelism2, hostname as osHostname, userInfo } from "node:os";

// packages/core/dist/repository/kek.js
import { scrypt } from "node:crypto";
var KEK_BYTES = 32;
function kdfSupported(k) {
  return typeof k === "object" && k !== null && k.algorithm === "scrypt" && Number.isInteger(k.N) && k.N >= 1 << 10 && k.N <= 1 << 22 && (k.N & k.N - 1) === 0 && Number.isInteger(k.r) && k.r >= 1 && k.r <= 32 && Number.isInteger(k.p) && k.p >= 1 && k.p <= 16 && 128 * k.N * k.r <= 1 << 30;
}
var prefetched = /* @__PURE__ */ new Map();
function cacheKey(salt, k) {
  return `${Buffer.from(salt).toString("base64")}:${k.N}:${k.r}:${k.p}`;
}
function scryptAsync(password, salt, k) {
  return new Promise((resolve6, reject) => {
    scrypt(Buffer.from(password, "utf8"), salt, KEK_BYTES, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + (32 << 20) }, (err, key) => err ? reject(err) : resolve6(key));
  });
}
function deriveKek(password, salt, k) {
  const key = cacheKey(salt, k);
  const hit = prefetched.get(key);
  if (hit !== void 0) {
    prefetched.delete(key);
    if (hit.password === password)
      return hit.kek;
  }
  return scryptAsync(password, salt, k);
}

// packages/core/dist/repository/keys.js
var KEY_FILE_VERSION = 1;
var MASTER_KEY_BYTES = 32;
var SALT_BYTES = 32;
var DEFAULT_KDF = { algorithm: "scrypt", N: 1 << 16, r: 8, p: 1 };
var TEST_KDF = { algorithm: "scrypt", N: 1 << 10, r: 8, p: 1 };
function newMasterKeys() {
  return { encrypt: randomBytes3(MASTER_KEY_BYTES), id: randomBytes3(MASTER_KEY_BYTES) };
}
function cipherSpecFor(master) {
  return { algorithm: AES_GCM, key: master.encrypt };
}
function chunkerSeedFor(master) {
  return Buffer.from(hkdfSync("sha256", master.id, Buffer.alloc(0), "stowage/v1/chunker-seed", 8)).readBigUInt64LE(0);
}
function validateKdf(k, asCorrupt = false) {
  if (!kdfSupported(k)) {
    const msg = `unsupported key derivation parameters ${JSON.stringify(k)} (scrypt, N a power of two 2^10..2^22, r 1..32, p 1..16, at most 1 GiB)`;
    throw asCorrupt ? corrupt(msg) : new StowageError("INVALID_ARGUMENT", msg);
  }
}
async function buildKeyFile(master, password, configHash, opts = {}) {
  const kdf = opts.kdf ?? DEFAULT_KDF;
  validateKdf(kdf);
  const salt = randomBytes3(SALT_BYTES);
  const kek = await deriveKek(password, salt, kdf);
  const payload = Buffer.from(JSON.stringify({ version: KEY_FILE_VERSION, config: configHash, encrypt: master.encrypt.toString("base64"), id: master.id.toString("base64") }));
  const nonce = randomBytes3(AES_GCM_NONCE_BYTES);
  const c = createCipheriv2(AES_GCM, kek, nonce, { authTagLength: AES_GCM_TAG_BYTES });
  const data = Buffer.concat([nonce, c.update(payload), c.final(), c.getAuthTag()]);
  payload.fill(0);
  kek.fill(0);
  const file = {
    version: KEY_FILE_VERSION,
    created: (opts.time ?? /* @__PURE__ */ new Date()).toISOString(),
    hostname: opts.hostname ?? osHostname(),
    username: opts.username ?? safeUsername(),
    kdf: { algorithm: "scrypt", N: kdf.N, r: kdf.r, p: kdf.p, salt: salt.toString("base64") },
    cipher: AES_GCM,
    data: data.toString("base64")
  };
  return Buffer.from(JSON.stringify(file, null, 2) + "\n");
}
async function saveKey(backend, master, password, configHash, opts = {}) {
  if (password.length === 0)
    throw new StowageError("INVALID_ARGUMENT", "an empty password is not allowed");
  const bytes = await buildKeyFile(master, password, configHash, opts);
  const name = blake3Hex(bytes);
  await backend.save({ type: "key", name }, bytes);
  return parseKeyFile(bytes, name);
}
async function loadKeyFile(backend, name) {
  let bytes;
  try {
    bytes = await backend.load({ type: "key", name });
  } catch (err) {
    if (err instanceof TypeError)
      throw corrupt(`key file ${name}: not a valid key file name`, err);
    throw err;
  }
  if (blake3Hex(bytes) !== name)
    throw corrupt(`key file ${name}: content does not match its name (damaged)`);
  return parseKeyFile(bytes, name);
}
function parseKeyFile(bytes, name) {
  const what = `key file ${name}`;
  let j;
  try {
    j = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw corrupt(`${what}: not valid JSON`, err);
  }
  if (typeof j !== "object" || j === null)
    throw corrupt(`${what}: not a key file`);
  if (j.version !== KEY_FILE_VERSION)
    throw new StowageError("UNSUPPORTED_FORMAT", `${what}: key file version ${String(j.version)} is not supported`);
  if (j.cipher !== AES_GCM)
    throw new StowageError("UNSUPPORTED_FORMAT", `${what}: cipher ${String(j.cipher)} is not supported`);
  validateKdf(j.kdf, true);
  if (typeof j.kdf.salt !== "string" || typeof j.data !== "string")
    throw corrupt(`${what}: salt or data missing`);
  const salt = Buffer.from(j.kdf.salt, "base64");
  const data = Buffer.from(j.data, "base64");
  if (salt.length < 16 || data.length < AES_GCM_NONCE_BYTES + AES_GCM_TAG_BYTES + 2)
    throw corrupt(`${what}: salt or data too short`);
  return {
    name,
    created: String(j.created),
    hostname: String(j.hostname),
    username: String(j.username),
    kdf: { algorithm: "scrypt", N: j.kdf.N, r: j.kdf.r, p: j.kdf.p },
    salt,
    data
  };
}
async function listKeys(backend) {
  const names = await keyNames(backend);
  return Promise.all(names.map(async (name) => {
    try {
      const { salt: _s, data: _d, ...info2 } = await loadKeyFile(backend, name);
      return info2;
    } catch (err) {
      if (!isStowageError(err, "CORRUPT", "UNSUPPORTED_FORMAT"))
        throw err;
      return { name, error: err.message };
    }
  }));
}
async function keyNames(backend) {
  const out = [];
  for await (const f of backend.list("key"))
    out.push(f.name);
  return out.sort();
}
async function unlock(backend, password, configHash, opts = {}) {
  const names = await keyNames(backend);
  if (names.length === 0)
    throw corrupt(`the repository at ${backend.info.location} is encrypted but has no key files (keys/ is empty)`);
  const loaded = await Promise.all(names.map(async (name) => {
    try {
      return await loadKeyFile(backend, name);
    } catch (err) {
      if (!isStowageError(err, "CORRUPT", "UNSUPPORTED_FORMAT"))
        throw err;
      return err;
    }
  }));
  const damaged = loaded.filter((k) => k instanceof StowageError);
  const keys = loaded.filter((k) => !(k instanceof StowageError));
  const hint = opts.hint ? keys.filter((k) => k.name.startsWith(opts.hint)) : [];
  const rest = keys.filter((k) => !hint.includes(k));
  const batches = hint.length === 1 ? [hint] : [];
  const width = Math.max(2, Math.min(4, availableParallelism2()));
  const pending = hint.length === 1 ? rest : keys;
  for (let i = 0; i < pending.length; i += width)
    batches.push(pending.slice(i, i + width));
  for (const batch of batches) {
    const opened = await Promise.all(batch.map((k) => tryKey(k, password)));
    const i = opened.findIndex((m) => m !== void 0);
    if (i < 0)
      continue;
    const { master, config } = opened[i];
    const { salt: _s, data: _d, ...key } = batch[i];
    if (config !== configHash) {
      throw corrupt(`the repository config does not match key file ${key.name} (config changed after init: its content is authenticated by the keys)`);
    }
    return { key, master };
  }
  if (damaged.length > 0) {
    const others = keys.length === 0 ? "" : `, and the password opens none of the other ${keys.length} key${keys.length === 1 ? "" : "s"}`;
    throw corrupt(`${damaged[0].message}${others}`, damaged[0]);
  }
  throw new StowageError("WRONG_PASSWORD", `wrong password: it opens none of the ${keys.length} key${keys.length === 1 ? "" : "s"} of the repository`);
}
async function tryKey(k, password) {
  const kek = await deriveKek(password, k.salt, k.kdf);
  const tagAt = k.data.length - AES_GCM_TAG_BYTES;
  const d = createDecipheriv2(AES_GCM, kek, k.data.subarray(0, AES_GCM_NONCE_BYTES), { authTagLength: AES_GCM_TAG_BYTES });
  d.setAuthTag(k.data.subarray(tagAt));
  const body = d.update(k.data.subarray(AES_GCM_NONCE_BYTES, tagAt));
  kek.fill(0);
  try {
    d.final();
  } catch {
    return void 0;
  }
  let p;
  try {
    p = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw corrupt(`key file ${k.name}: payload is not valid JSON`, err);
  } finally {
    body.fill(0);
  }
  if (p.version !== KEY_FILE_VERSION || typeof p.encrypt !== "string" || typeof p.id !== "string" || typeof p.config !== "string") {
    throw corrupt(`key file ${k.name}: payload fields missing or malformed`);
  }
  const master = { encrypt: Buffer.from(p.encrypt, "base64"), id: Buffer.from(p.id, "base64") };
  if (master.encrypt.length !== MASTER_KEY_BYTES || master.id.length !== MASTER_KEY_BYTES)
    throw corrupt(`key file ${k.name}: master keys have the wrong length`);
  return { master, config: p.config };
}
async function resolveKey(backend, ref) {
  if (!/^[0-9a-f]{4,64}$/.test(ref))
    throw new StowageError("INVALID_ARGUMENT", `invalid key id "${ref}": expected 4 to 64 lowercase hex characters`);
  const matches = (await keyNames(backend)).filter((n) => n.startsWith(ref));
  if (matches.length === 0)
    throw new StowageError("NOT_FOUND", `no key matches "${ref}"`);
  if (matches.length > 1)
    throw new StowageError("AMBIGUOUS_ID", `key id prefix "${ref}" is ambiguous: it matches ${matches.length} keys`);
  return matches[0];
}
function safeUsername() {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}

// packages/core/dist/repository/repository.js
var Repository = class _Repository {
  backend;
  config;
  cipher;
  /** The cipher's serialisable form (holds the data key of encrypted repositories). */
  cipherSpec;
  codecSpec;
  /** The codec on the calling thread (ids, small blobs). */
  codec;
  cacheDir;
  indexCache;
  indexOpening;
  pool;
  #secrets;
  #chunkerSeed;
  constructor(backend, config, secrets, opts) {
    this.backend = backend;
    this.config = config;
    this.#secrets = secrets;
    this.cipherSpec = secrets ? cipherSpecFor(secrets.master) : { algorithm: "none" };
    this.cipher = cipherFromSpec(this.cipherSpec);
    this.codecSpec = { level: config.compression.level, cipher: this.cipherSpec, ...secrets && { idKey: secrets.master.id } };
    this.codec = new BlobCodec(this.codecSpec);
    this.#chunkerSeed = secrets ? chunkerSeedFor(secrets.master) : void 0;
    this.cacheDir = repoCacheDir(opts.cacheRoot ?? defaultCacheRoot(), config.id);
  }
  /**
   * Creates a repository at an empty location. REPOSITORY_EXISTS when it is not empty.
   * Encrypted when `encryption` is 'aes-256-gcm' or, by default, when a password is given
   * (then the first key file is written before the config, which is the commit point).
   */
  static async init(backend, opts = {}) {
    const encryption = opts.encryption ?? (opts.password !== void 0 ? "aes-256-gcm" : "none");
    const config = newConfig({ ...opts, encryption });
    if (!await backend.isEmpty()) {
      const what = await backend.exists(CONFIG_HANDLE) ? "a repository already exists" : "the directory is not empty";
      throw new StowageError("REPOSITORY_EXISTS", `cannot init ${backend.info.location}: ${what}`);
    }
    const configBytes = Buffer.from(JSON.stringify(config, null, 2) + "\n");
    let secrets;
    let password;
    if (encryption !== "none") {
      password = await askPassword(opts.password);
      if (password === void 0)
        throw new StowageError("PASSWORD_REQUIRED", `cannot init an encrypted repository at ${backend.info.location} without a password`);
      if (password === "")
        throw new StowageError("INVALID_ARGUMENT", "an empty password is not allowed");
    }
    await backend.create();
    if (password !== void 0) {
      const master = newMasterKeys();
      const configHash = blake3Hex(configBytes);
      const key = await saveKey(backend, master, password, configHash, opts.kdf ? { kdf: opts.kdf } : {});
      secrets = { master, key: key.name, configHash };
    }
    await backend.save(CONFIG_HANDLE, configBytes);
    return new _Repository(backend, config, secrets, opts);
  }
  /** Opens an existing repository. NO_REPOSITORY when there is none at the location. */
  static async open(backend, opts = {}) {
    let raw;
    try {
      raw = await backend.load(CONFIG_HANDLE);
    } catch (err) {
      if (isStowageError(err, "NOT_FOUND"))
        throw new StowageError("NO_REPOSITORY", `no repository at ${backend.info.location} (config not found; run "stowage init" first)`);
      throw err;
    }
    const config = parseConfig(raw);
    const enc = config.encryption;
    if (enc.algorithm === "none") {
      if ((await keyNames(backend)).length > 0) {
        throw corrupt(`repository config at ${backend.info.location} says "no encryption", but the repository has key files: the config was changed`);
      }
      return new _Repository(backend, config, void 0, opts);
    }
    if (enc.algorithm !== "aes-256-gcm" || !("kdf" in enc) || enc.kdf !== "scrypt" || config.hash !== "blake3-keyed") {
      throw new StowageError("UNSUPPORTED_FORMAT", `repository is encrypted with ${enc.algorithm} (${"kdf" in enc ? enc.kdf : "no kdf"}, hash ${config.hash}), which this build cannot open`);
    }
    const password = await askPassword(opts.password);
    if (password === void 0)
      throw new StowageError("PASSWORD_REQUIRED", `the repository at ${backend.info.location} is encrypted and no password was given`);
    const configHash = blake3Hex(raw);
    const { key, master } = await unlock(backend, password, configHash, opts.keyHint ? { hint: opts.keyHint } : {});
    return new _Repository(backend, config, { master, key: key.name, configHash }, opts);
  }
  /** True for an encrypted repository. */
  get encrypted() {
    return this.#secrets !== void 0;
  }
  /** Name of the key file this repository was opened with (encrypted repositories). */
  get keyName() {
    return this.#secrets?.key;
  }
  /** A fresh chunker for this repository's parameters (seeded from the master keys when encrypted). */
  cutter(impl) {
    return createCutter(chunkerParams(this.config, this.#chunkerSeed), impl);
  }
  /** Every key file of the repository (damaged ones with their error). */
  async listKeys() {
    return listKeys(this.backend);
  }
  /** Adds a key file holding this repository's master keys under `password`. */
  async addKey(password, opts = {}) {
    const s = this.#needSecrets();
    return saveKey(this.backend, s.master, password, s.configHash, opts);
  }
  /**
   * Removes a key file (full name or unique prefix). Refuses the key in use (open with
   * another key's password to remove it) and the last intact key. Returns the name removed.
   */
  async removeKey(ref) {
    const s = this.#needSecrets();
    const name = await resolveKey(this.backend, ref);
    if (name === s.key) {
      throw new StowageError("INVALID_ARGUMENT", `key ${name.slice(0, 8)} is the key in use; open the repository with another key's password to remove it`);
    }
    const intact = (await listKeys(this.backend)).filter((k) => k.error === void 0 && k.name !== name);
    if (intact.length === 0)
      throw new StowageError("INVALID_ARGUMENT", `refusing to remove the last key of the repository`);
    await this.backend.remove({ type: "key", name });
    return name;
  }
  /** Changes the password of the key in use: adds a key file for `password`, then removes the old one. */
  async changePassword(password, opts = {}) {
    const s = this.#needSecrets();
    const old = s.key;
    const key = await saveKey(this.backend, s.master, password, s.configHash, opts);
    s.key = key.name;
    await this.backend.remove({ type: "key", name: old });
    return key;
  }
  #needSecrets() {
    if (!this.#secrets)
      throw new StowageError("INVALID_ARGUMENT", "the repository is not encrypted: it has no keys");
    return this.#secrets;
  }
  /** The shared codec pool (workers = 0: inline). Created on first use; later calls get the same pool. */
  codecs(workers = defaultWorkerCount()) {
    this.pool ??= new CodecPool(this.codecSpec, workers);
    return this.pool;
  }
  /**
   * Called before a snapshot file (the commit point) is saved; lock.ts sets it while a lock
   * is held, to verify the lock is still ours (LOCKED otherwise, and nothing is committed).
   */
  commitGuard;
  /** Seals `plain` and stores it as a file of `type` named by the hash of the stored bytes. Returns the name. */
  async saveFile(type, plain, opts) {
    if (type === "snapshot")
      await this.commitGuard?.();
    const stored = this.cipher.seal(plain);
    const name = blake3Hex(stored);
    try {
      await this.backend.save({ type, name }, stored, opts);
    } catch (err) {
      if (!isStowageError(err, "ALREADY_EXISTS"))
        throw err;
    }
    return name;
  }
  /** Loads a file, checks its name against the hash of its bytes, and opens it. */
  async loadFile(type, name, opts) {
    const stored = await this.backend.load({ type, name }, void 0, opts);
    const what = `${type} file ${name}`;
    if (blake3Hex(stored) !== name)
      throw corrupt(`${what}: content does not match its name (damaged)`);
    return this.cipher.open(stored, what);
  }
  /** Names of all files of a type. */
  async listNames(type, opts) {
    const out = [];
    for await (const f of this.backend.list(type, opts))
      out.push(f.name);
    return out;
  }
  /** Loads and decodes an index file. */
  async loadIndexFile(name) {
    return decodeIndexFile(await this.loadFile("index", name), `index file ${name}`);
  }
  /** Stores an index file for `packs`; returns its name. */
  async saveIndexFile(packs) {
    return this.saveFile("index", encodeIndexFile(packs));
  }
  /** The local index cache, opened and synced with the repository's index files on first use. */
  async index() {
    if (this.indexCache)
      return this.indexCache;
    this.indexOpening ??= (async () => {
      const idx = await LevelIndex.open(this.cacheDir);
      try {
        await idx.sync({ listIndexFiles: () => this.listNames("index"), loadIndexFile: (n) => this.loadIndexFile(n) });
      } catch (err) {
        await idx.close();
        throw err;
      }
      this.indexCache = idx;
      return idx;
    })();
    return this.indexOpening;
  }
  /** Brings an open index cache up to date with the index files (lock.ts calls it after taking a lock: gc may have replaced them). */
  async refreshIndex() {
    if (this.indexCache)
      await this.indexCache.sync({ listIndexFiles: () => this.listNames("index"), loadIndexFile: (n) => this.loadIndexFile(n) });
  }
  /** Locations of blobs (undefined where unknown), one batched lookup. */
  async lookup(ids) {
    return (await this.index()).getMany(ids);
  }
  /**
   * Loads and verifies blobs (small ones: chunk lists and such) on the calling thread.
   * NOT_FOUND names a blob missing from the index; CORRUPT names the blob and pack.
   */
  async loadBlobs(ids) {
    const locs = await this.lookup(ids);
    const out = [];
    for (let i = 0; i < ids.length; i++) {
      const loc = locs[i];
      const id = ids[i];
      if (!loc)
        throw new StowageError("NOT_FOUND", `blob ${id.toString("hex")} is not in the index (repository damaged, or try "stowage repair index")`);
      out.push(await this.loadBlobAt(id, loc));
    }
    return out;
  }
  /** Reads one blob at a known location and verifies it. */
  async loadBlobAt(id, loc) {
    const stored = await this.readPackRange(loc.pack, loc.offset, loc.length);
    return this.codec.decode(stored, [{ offset: 0, length: loc.length, rawLength: loc.rawLength, compressed: loc.compressed, id }], `pack ${loc.pack}`).plain;
  }
  /** A ranged pack read into `target` (which may be shared memory); errors as readPackRange. */
  async readPackRangeInto(pack, offset, length, target) {
    try {
      await loadRangeInto(this.backend, { type: "pack", name: pack }, { offset, length }, target);
    } catch (err) {
      if (isStowageError(err, "NOT_FOUND"))
        throw corrupt(`pack ${pack} is missing`, err);
      if (isStowageError(err, "CORRUPT"))
        throw corrupt(`pack ${pack}: ${err.message}`, err);
      throw err;
    }
  }
  /** A ranged pack read; a missing or short pack is CORRUPT naming the pack. */
  async readPackRange(pack, offset, length) {
    try {
      return await this.backend.load({ type: "pack", name: pack }, { offset, length });
    } catch (err) {
      if (isStowageError(err, "NOT_FOUND"))
        throw corrupt(`pack ${pack} is missing`, err);
      if (isStowageError(err, "CORRUPT"))
        throw corrupt(`pack ${pack}: ${err.message}`, err);
      throw err;
    }
  }
  async close() {
    await this.pool?.close();
    this.pool = void 0;
    if (this.indexCache)
      await this.indexCache.close();
    this.indexCache = void 0;
    this.indexOpening = void 0;
    await this.backend.close();
  }
  async [Symbol.asyncDispose]() {
    await this.close();
  }
};
async function askPassword(src) {
  return typeof src === "function" ? await src() : src;
}

// packages/core/dist/pack/pack-writer.js
var PackWriter = class {
  cipher;
  parts = [];
  entries = [];
  blobBytes = 0;
  finished = false;
  constructor(cipher) {
    this.cipher = cipher;
  }
  /** Number of blobs so far. */
  get count() {
    return this.entries.length;
  }
  /** Bytes of the pack if finalized now (blobs plus projected trailer and footer). */
  get size() {
    return this.blobBytes + 9 + this.entries.length * ENTRY_BYTES + 32 + this.cipher.overhead + FOOTER_BYTES;
  }
  /** Appends a stored blob. `stored` must not be modified afterwards. */
  add(id, type, stored, rawLength, compressed) {
    if (this.finished)
      throw new TypeError("PackWriter: add after finalize");
    if (this.size + stored.length + ENTRY_BYTES > MAX_PACK_BYTES)
      throw new RangeError("PackWriter: pack would exceed 4 GiB");
    this.entries.push({ id, type, compressed, offset: this.blobBytes, length: stored.length, rawLength });
    this.parts.push(stored);
    this.blobBytes += stored.length;
  }
  /** Appends trailer and footer, re-parses them, and returns the pack. The writer is unusable afterwards. */
  finalize() {
    if (this.finished)
      throw new TypeError("PackWriter: finalize twice");
    this.finished = true;
    const trailer = this.cipher.seal(encodeTrailer(this.entries));
    const bytes = Buffer.concat([...this.parts, trailer, encodeFooter(trailer.length)]);
    const id = blake3Hex(bytes);
    const tail = parsePackTail(bytes, bytes.length, this.cipher, `pack ${id}`);
    if (tail.entries.length !== this.entries.length || tail.entries.some((e, i) => !e.id.equals(this.entries[i].id) || e.offset !== this.entries[i].offset)) {
      throw new Error(`internal error: pack ${id} trailer does not re-read as written`);
    }
    this.parts.length = 0;
    return { id, bytes, entries: this.entries };
  }
};

// packages/core/dist/util/slot-ring.js
var SlotRing = class {
  count;
  size;
  free = [];
  waiters = [];
  constructor(count, size) {
    this.count = count;
    this.size = size;
    for (let i = 0; i < count; i++)
      this.free.push(new Uint8Array(new SharedArrayBuffer(size)));
  }
  /** A free slot, waiting for one when all are in use. */
  acquire() {
    const bytes = this.free.pop();
    if (bytes)
      return Promise.resolve(this.wrap(bytes));
    return new Promise((resolve6) => this.waiters.push((b) => resolve6(this.wrap(b))));
  }
  wrap(bytes) {
    let released = false;
    return {
      bytes,
      release: () => {
        if (released)
          return;
        released = true;
        const w = this.waiters.shift();
        if (w)
          w(bytes);
        else
          this.free.push(bytes);
      }
    };
  }
};

// packages/core/dist/repository/write-session.js
var ENCODE_SLOTS = 4;
var ENCODE_SLOT_BYTES = 6 * 1024 * 1024;
var WriteSession = class {
  repo;
  stats = { newBlobs: 0, newBytes: 0, storedBytes: 0, packs: 0, indexFiles: 0 };
  /** Ids (latin1 keys) stored by this session and not yet absorbed into the index cache. */
  unindexed = /* @__PURE__ */ new Set();
  encodeQueue = [];
  queuedBytes = 0;
  writer;
  uploads = [];
  uploaded = [];
  broken;
  pool;
  maxEncodeBytes;
  maxUploads;
  indexEveryPacks;
  encodeSlots = new SlotRing(ENCODE_SLOTS, ENCODE_SLOT_BYTES);
  constructor(repo, opts = {}) {
    this.repo = repo;
    this.pool = repo.codecs(opts.workers);
    this.writer = new PackWriter(repo.cipher);
    this.maxEncodeBytes = opts.maxEncodeBytes ?? 24 * 1024 * 1024;
    this.maxUploads = opts.maxUploads ?? 2;
    this.indexEveryPacks = opts.indexEveryPacks ?? 32;
  }
  /**
   * Stores the blobs of `data` (consecutive, `lengths` given, ids precomputed) that the
   * repository does not have yet. See saveChunks.
   */
  async saveBatch(type, data, lengths, ids) {
    const chunks = [];
    for (let i = 0, off = 0; i < lengths.length; off += lengths[i], i++)
      chunks.push(data.subarray(off, off + lengths[i]));
    return this.saveChunks(type, chunks, ids);
  }
  /**
   * Stores the blobs among `chunks` (ids precomputed) that the repository does not have
   * yet: one batched index lookup, then the new ones (deduplicated within the call) are
   * copied into one buffer for the encoder. Returns the number and plaintext bytes of new
   * blobs. The chunks are not retained. Waits while the pipeline is full.
   */
  async saveChunks(type, chunks, ids) {
    this.check();
    const keys = ids.map((id) => id.toString("latin1"));
    const ask = [];
    for (let i = 0; i < ids.length; i++)
      if (!this.unindexed.has(keys[i]))
        ask.push(i);
    const found = ask.length ? await this.repo.lookup(ask.map((i) => ids[i])) : [];
    const isKnown = new Uint8Array(ids.length).fill(1);
    ask.forEach((i, j) => {
      if (!found[j])
        isKnown[i] = 0;
    });
    const newIdx = [];
    let newBytes = 0;
    for (let i = 0; i < ids.length; i++) {
      if (isKnown[i] || this.unindexed.has(keys[i]))
        continue;
      this.unindexed.add(keys[i]);
      newIdx.push(i);
      newBytes += chunks[i].length;
    }
    if (newIdx.length > 0) {
      const slot = this.pool.maxWorkers > 0 && newBytes <= ENCODE_SLOT_BYTES ? await this.encodeSlots.acquire() : void 0;
      const buf = slot ? slot.bytes.subarray(0, newBytes) : new Uint8Array(newBytes);
      let o = 0;
      for (const i of newIdx) {
        buf.set(chunks[i], o);
        o += chunks[i].length;
      }
      const rawLengths = newIdx.map((i) => chunks[i].length);
      const result = this.pool.encode(buf, rawLengths);
      if (slot)
        result.then(slot.release, slot.release);
      result.catch(() => void 0);
      this.encodeQueue.push({ type, ids: newIdx.map((i) => ids[i]), rawLengths, bytes: newBytes, result });
      this.queuedBytes += newBytes;
      this.stats.newBlobs += newIdx.length;
      this.stats.newBytes += newBytes;
    }
    while (this.queuedBytes > this.maxEncodeBytes)
      await this.drainOne();
    return { newBlobs: newIdx.length, newBytes };
  }
  /** Stores one blob (chunk lists and such); returns its id. */
  async saveBlob(type, plain) {
    const id = this.pool.inline.id(plain);
    await this.saveBatch(type, plain, [plain.length], [id]);
    return id;
  }
  /**
   * Makes everything saved so far durable and visible: encodes the rest, finishes and
   * uploads the last pack, writes the index file and absorbs it into the index cache.
   */
  async flush() {
    this.check();
    while (this.encodeQueue.length)
      await this.drainOne();
    if (this.writer.count > 0)
      this.finishPack();
    await this.awaitUploads(0);
    await this.writeIndex();
  }
  /** Stops work in flight; whatever was uploaded stays as unreferenced packs (gc removes them). */
  async abort(reason = new StowageError("ABORTED", "write session aborted")) {
    this.broken ??= reason;
    await Promise.allSettled(this.uploads);
  }
  check() {
    if (this.broken)
      throw this.broken;
  }
  fail(err) {
    this.broken ??= err;
    throw this.broken;
  }
  /** Takes the oldest encode job into the pack writer (FIFO keeps packs in stream order). */
  async drainOne() {
    const job = this.encodeQueue.shift();
    let r;
    try {
      r = await job.result;
    } catch (err) {
      this.fail(err);
    }
    this.queuedBytes -= job.bytes;
    let off = 0;
    for (let i = 0; i < job.ids.length; i++) {
      const len = r.storedLengths[i];
      if (this.writer.count > 0 && this.writer.size + len > this.repo.config.packSize)
        this.finishPack();
      this.writer.add(job.ids[i], job.type, r.stored.subarray(off, off + len), job.rawLengths[i], r.compressed[i]);
      this.stats.storedBytes += len;
      off += len;
    }
    if (this.writer.size >= this.repo.config.packSize)
      this.finishPack();
    await this.awaitUploads(this.maxUploads);
  }
  finishPack() {
    const pack = this.writer.finalize();
    this.writer = new PackWriter(this.repo.cipher);
    const p = this.upload(pack);
    p.catch(() => void 0);
    this.uploads.push(p);
  }
  /** Saves a pack, then re-reads its trailer from the backend and checks it. */
  async upload(pack) {
    const backend = this.repo.backend;
    try {
      await backend.save({ type: "pack", name: pack.id }, pack.bytes);
    } catch (err) {
      if (!isStowageError(err, "ALREADY_EXISTS"))
        throw err;
      if (blake3Hex(await backend.load({ type: "pack", name: pack.id })) !== pack.id) {
        throw new StowageError("CORRUPT", `pack ${pack.id} exists in the repository but its content does not match its name`);
      }
    }
    const tail = await readPackTrailer(backend, pack.id, this.repo.cipher, pack.bytes.length);
    if (tail.entries.length !== pack.entries.length || tail.entries.some((e, i) => !e.id.equals(pack.entries[i].id))) {
      throw new StowageError("BACKEND", `pack ${pack.id}: trailer read back from ${backend.info.location} differs from what was written`);
    }
    this.stats.packs++;
    this.uploaded.push({ pack: { id: pack.id, bytes: Buffer.alloc(0), entries: pack.entries } });
  }
  async awaitUploads(max) {
    while (this.uploads.length > max) {
      try {
        await this.uploads.shift();
      } catch (err) {
        this.fail(err);
      }
    }
    if (this.uploaded.length >= this.indexEveryPacks)
      await this.writeIndex();
  }
  /** Writes an index file for the packs uploaded since the last one, then absorbs it. */
  async writeIndex() {
    if (this.uploaded.length === 0)
      return;
    const packs = this.uploaded.splice(0).map(({ pack }) => ({ id: pack.id, entries: pack.entries }));
    try {
      const name = await this.repo.saveIndexFile(packs);
      this.stats.indexFiles++;
      await (await this.repo.index()).absorb(name, packs);
    } catch (err) {
      this.fail(err);
    }
    for (const p of packs)
      for (const e of p.entries)
        this.unindexed.delete(e.id.toString("latin1"));
  }
};

// packages/core/dist/repository/lock.js
import { randomBytes as randomBytes4 } from "node:crypto";
import { hostname as osHostname2, userInfo as userInfo2 } from "node:os";
var DEFAULT_STALE_MS = 30 * 60 * 1e3;
var DEFAULT_REFRESH_MS = 5 * 60 * 1e3;
var held = /* @__PURE__ */ new WeakMap();
var defaults = /* @__PURE__ */ new WeakMap();
var acquiring = /* @__PURE__ */ new WeakMap();
function setLockDefaults(repo, opts) {
  defaults.set(repo, opts);
}
async function lockRepository(repo, kind, options = {}) {
  const before = acquiring.get(repo) ?? Promise.resolve();
  const p = before.then(() => acquire(repo, kind, options));
  const settled = p.then(() => void 0, () => void 0);
  acquiring.set(repo, settled);
  void settled.then(() => {
    if (acquiring.get(repo) === settled)
      acquiring.delete(repo);
  });
  return p;
}
async function acquire(repo, kind, options) {
  const opts = { ...defaults.get(repo), ...options };
  const cur = held.get(repo);
  if (cur) {
    if (cur.kind === "shared" && kind === "exclusive")
      throw new TypeError("cannot take an exclusive lock while holding a shared lock on the same repository object");
    cur.count++;
    return handle(repo, cur);
  }
  const now = opts.now ?? Date.now;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const deadline = now() + (opts.retryMs ?? 0);
  let attempt = 0;
  let h;
  for (; ; ) {
    opts.signal?.throwIfAborted();
    try {
      h = await tryLock(repo, kind, staleMs, now, opts.refreshMs ?? DEFAULT_REFRESH_MS);
      break;
    } catch (err) {
      if (!isStowageError(err, "LOCKED"))
        throw err;
      const left = deadline - now();
      if (left <= 0)
        throw err;
      const wait = Math.min(left, Math.min(5e3, 100 * 2 ** Math.min(attempt++, 6)) * (0.5 + Math.random()));
      await sleep(wait, opts.signal);
    }
  }
  held.set(repo, h);
  repo.commitGuard = () => verifyHeld(repo, h);
  const lock = handle(repo, h);
  try {
    await repo.refreshIndex();
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}
async function listLocks(repo, opts = {}) {
  const out = [];
  const now = (opts.now ?? Date.now)();
  for await (const f of repo.backend.list("lock")) {
    let info2;
    try {
      info2 = parseLock(repo.cipher.open(await repo.backend.load({ type: "lock", name: f.name }), `lock ${f.name}`), f.name);
    } catch (err) {
      if (isStowageError(err, "NOT_FOUND"))
        continue;
      out.push({ name: f.name, error: err.message, stale: false });
      continue;
    }
    const why = staleReason(info2, now, opts.staleMs ?? DEFAULT_STALE_MS);
    out.push({ name: f.name, info: info2, stale: why !== void 0, ...why && { staleReason: why } });
  }
  return out;
}
async function removeLocks(repo, opts = {}) {
  const mine = held.get(repo)?.name;
  const removed = [];
  for (const l of await listLocks(repo, opts)) {
    if (l.name === mine)
      continue;
    if (!opts.all && !l.stale)
      continue;
    try {
      await repo.backend.remove({ type: "lock", name: l.name });
      removed.push(l.name);
    } catch (err) {
      if (!isStowageError(err, "NOT_FOUND"))
        throw err;
    }
  }
  return removed;
}
function staleReason(info2, now, staleMs, host = osHostname2()) {
  const refreshed = Date.parse(info2.refreshed);
  if (!Number.isFinite(refreshed))
    return "no valid refresh time";
  if (now - refreshed > staleMs)
    return `not refreshed for ${Math.round((now - refreshed) / 6e4)} min`;
  if (info2.hostname === host && !processAlive(info2.pid))
    return `process ${info2.pid} on this host is gone`;
  return void 0;
}
function describeLock(name, info2) {
  if (!info2)
    return `an unreadable lock ${name.slice(0, 8)}`;
  return `${info2.exclusive ? "an exclusive" : "a shared"} lock ${name.slice(0, 8)} held by PID ${info2.pid} on ${info2.hostname}${info2.username ? ` (${info2.username})` : ""} since ${info2.time}`;
}
async function tryLock(repo, kind, staleMs, now, refreshMs) {
  const exclusive = kind === "exclusive";
  await assertNoConflict(repo, exclusive, void 0, staleMs, now);
  const t = new Date(now()).toISOString();
  const info2 = { exclusive, hostname: osHostname2(), pid: process.pid, username: safeUsername2(), time: t, refreshed: t };
  const name = randomBytes4(32).toString("hex");
  await repo.backend.save({ type: "lock", name }, encodeLock(repo, info2));
  try {
    await assertNoConflict(repo, exclusive, name, staleMs, now);
  } catch (err) {
    await repo.backend.remove({ type: "lock", name }).catch(() => void 0);
    throw err;
  }
  const h = {
    kind,
    name,
    count: 1,
    info: info2,
    lastRefresh: now(),
    lost: void 0,
    staleMs,
    now,
    refreshing: void 0,
    timer: setInterval(() => {
      h.refreshing ??= refresh(repo, h).finally(() => h.refreshing = void 0);
    }, refreshMs)
  };
  h.timer.unref();
  return h;
}
async function assertNoConflict(repo, exclusive, mine, staleMs, now) {
  for (const l of await listLocks(repo, { staleMs, now })) {
    if (l.name === mine || l.stale)
      continue;
    if (l.info && !exclusive && !l.info.exclusive)
      continue;
    const hint = l.info ? "" : ' (remove it with "stowage unlock --remove-all" if no other stowage process is running)';
    throw new StowageError("LOCKED", `repository ${repo.backend.info.location} is locked: ${describeLock(l.name, l.info)}${hint}`);
  }
}
async function refresh(repo, h) {
  if (h.lost)
    return;
  const h0 = { type: "lock", name: h.name };
  try {
    if (!await repo.backend.exists(h0)) {
      h.lost = `lock file ${h.name.slice(0, 8)} was removed by another process`;
      return;
    }
    const info2 = { ...h.info, refreshed: new Date(h.now()).toISOString() };
    await repo.backend.save(h0, encodeLock(repo, info2), { overwrite: true });
    h.info = info2;
    h.lastRefresh = h.now();
  } catch {
  }
}
function handle(repo, h) {
  let released = false;
  const release = async () => {
    if (released)
      return;
    released = true;
    if (--h.count > 0)
      return;
    clearInterval(h.timer);
    held.delete(repo);
    repo.commitGuard = void 0;
    await h.refreshing;
    await repo.backend.remove({ type: "lock", name: h.name }).catch(() => void 0);
  };
  return {
    kind: h.kind,
    name: h.name,
    async verify() {
      if (released)
        throw new TypeError("lock already released");
      await verifyHeld(repo, h);
    },
    release,
    [Symbol.asyncDispose]: release
  };
}
async function verifyHeld(repo, h) {
  await h.refreshing;
  if (!h.lost && !await repo.backend.exists({ type: "lock", name: h.name }))
    h.lost = `lock file ${h.name.slice(0, 8)} was removed by another process`;
  if (h.lost)
    throw new StowageError("LOCKED", `lost the repository lock: ${h.lost}`);
  const age = h.now() - h.lastRefresh;
  if (age > h.staleMs / 2) {
    await refresh(repo, h);
    if (h.lost || h.now() - h.lastRefresh > h.staleMs / 2)
      throw new StowageError("LOCKED", `lost the repository lock: it could not be refreshed for ${Math.round(age / 1e3)} s`);
  }
}
function encodeLock(repo, info2) {
  return repo.cipher.seal(Buffer.from(JSON.stringify(info2)));
}
function parseLock(plain, name) {
  let v;
  try {
    v = JSON.parse(plain.toString("utf8"));
  } catch (err) {
    throw new StowageError("CORRUPT", `lock ${name}: not valid JSON`, { cause: err });
  }
  if (typeof v !== "object" || v === null || typeof v.exclusive !== "boolean" || typeof v.pid !== "number" || typeof v.hostname !== "string" || typeof v.refreshed !== "string") {
    throw new StowageError("CORRUPT", `lock ${name}: fields missing`);
  }
  return v;
}
function processAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0)
    return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}
function safeUsername2() {
  try {
    return userInfo2().username;
  } catch {
    return "";
  }
}
function sleep(ms, signal) {
  return new Promise((resolve6, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve6();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new StowageError("ABORTED", "interrupted while waiting for the repository lock"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// packages/core/dist/repository/repair-index.js
var __addDisposableResource = function(env2, value, async) {
  if (value !== null && value !== void 0) {
    if (typeof value !== "object" && typeof value !== "function") throw new TypeError("Object expected.");
    var dispose, inner;
    if (async) {
      if (!Symbol.asyncDispose) throw new TypeError("Symbol.asyncDispose is not defined.");
      dispose = value[Symbol.asyncDispose];
    }
    if (dispose === void 0) {
      if (!Symbol.dispose) throw new TypeError("Symbol.dispose is not defined.");
      dispose = value[Symbol.dispose];
      if (async) inner = dispose;
    }
    if (typeof dispose !== "function") throw new TypeError("Object not disposable.");
    if (inner) dispose = function() {
      try {
        inner.call(this);
      } catch (e) {
        return Promise.reject(e);
      }
    };
    env2.stack.push({ value, dispose, async });
  } else if (async) {
    env2.stack.push({ async: true });
  }
  return value;
};
var __disposeResources = /* @__PURE__ */ (function(SuppressedError2) {
  return function(env2) {
    function fail(e) {
      env2.error = env2.hasError ? new SuppressedError2(e, env2.error, "An error was suppressed during disposal.") : e;
      env2.hasError = true;
    }
    var r, s = 0;
    function next() {
      while (r = env2.stack.pop()) {
        try {
          if (!r.async && s === 1) return s = 0, env2.stack.push(r), Promise.resolve().then(next);
          if (r.dispose) {
            var result = r.dispose.call(r.value);
            if (r.async) return s |= 2, Promise.resolve(result).then(next, function(e) {
              fail(e);
              return next();
            });
          } else s |= 1;
        } catch (e) {
          fail(e);
        }
      }
      if (s === 1) return env2.hasError ? Promise.reject(env2.error) : Promise.resolve();
      if (env2.hasError) throw env2.error;
    }
    return next();
  };
})(typeof SuppressedError === "function" ? SuppressedError : function(error, suppressed, message) {
  var e = new Error(message);
  return e.name = "SuppressedError", e.error = error, e.suppressed = suppressed, e;
});
var ENTRIES_PER_INDEX_FILE = 2e5;
async function repairIndex(repo, opts = {}) {
  const env_1 = { stack: [], error: void 0, hasError: false };
  try {
    const _lock = __addDisposableResource(env_1, await lockRepository(repo, "exclusive"), true);
    const before = await repo.listNames("index");
    const written = /* @__PURE__ */ new Set();
    const damagedPacks = [];
    let batch = [];
    let batchEntries = 0;
    let packs = 0;
    let blobs = 0;
    const flush = async () => {
      if (batch.length === 0)
        return;
      written.add(await repo.saveIndexFile(batch));
      batch = [];
      batchEntries = 0;
    };
    for await (const f of repo.backend.list("pack")) {
      try {
        const tail = await readPackTrailer(repo.backend, f.name, repo.cipher, f.size);
        batch.push({ id: f.name, entries: tail.entries });
        batchEntries += tail.entries.length;
        packs++;
        blobs += tail.entries.length;
        opts.progress?.({ op: "repair", done: packs });
        if (batchEntries >= ENTRIES_PER_INDEX_FILE)
          await flush();
      } catch (err) {
        if (!isStowageError(err, "CORRUPT"))
          throw err;
        damagedPacks.push({ pack: f.name, error: err.message });
      }
    }
    await flush();
    let removed = 0;
    for (const name of before) {
      if (written.has(name))
        continue;
      await repo.backend.remove({ type: "index", name });
      removed++;
    }
    return { packs, blobs, damagedPacks, indexFilesWritten: written.size, indexFilesRemoved: removed };
  } catch (e_1) {
    env_1.error = e_1;
    env_1.hasError = true;
  } finally {
    const result_1 = __disposeResources(env_1);
    if (result_1)
      await result_1;
  }
}

// packages/core/dist/snapshot/manifest.js
function encodeManifest(m) {
  return Buffer.from(JSON.stringify(m));
}
function decodeManifest(bytes, what) {
  let m;
  try {
    m = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw corrupt(`${what}: not valid JSON`, err);
  }
  if (typeof m !== "object" || m === null)
    throw corrupt(`${what}: not a snapshot`);
  if (m.version !== 1)
    throw new StowageError("UNSUPPORTED_FORMAT", `${what}: snapshot version ${String(m.version)} is not supported`);
  const ok = typeof m.time === "string" && typeof m.name === "string" && Array.isArray(m.tags) && typeof m.source?.sha256 === "string" && typeof m.source.size === "number" && typeof m.content?.chunks === "number" && Array.isArray(m.content.lists) && m.content.lists.every((l) => typeof l === "string" && /^[0-9a-f]{64}$/.test(l));
  if (!ok)
    throw corrupt(`${what}: snapshot fields missing or malformed`);
  return m;
}

// packages/core/dist/snapshot/find.js
async function loadSnapshot(repo, id) {
  const bytes = await repo.loadFile("snapshot", id);
  return { id, ...decodeManifest(bytes, `snapshot ${id}`) };
}
async function listSnapshots(repo) {
  const names = await repo.listNames("snapshot");
  const snaps = await Promise.all(names.map((n) => loadSnapshot(repo, n)));
  return snaps.sort((a, b) => a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
async function resolveSnapshot(repo, ref) {
  if (ref === "latest") {
    const all = await listSnapshots(repo);
    const last = all[all.length - 1];
    if (!last)
      throw new StowageError("NOT_FOUND", "no snapshots in the repository");
    return last.id;
  }
  if (!/^[0-9a-f]{4,64}$/.test(ref)) {
    throw new StowageError("INVALID_ARGUMENT", `invalid snapshot id "${ref}": expected "latest" or 4 to 64 lowercase hex characters`);
  }
  const matches = (await repo.listNames("snapshot")).filter((n) => n.startsWith(ref));
  if (matches.length === 0)
    throw new StowageError("NOT_FOUND", `no snapshot matches "${ref}"`);
  if (matches.length > 1)
    throw new StowageError("AMBIGUOUS_ID", `snapshot id prefix "${ref}" is ambiguous: it matches ${matches.length} snapshots (${matches.slice(0, 4).map((m) => m.slice(0, 12)).join(", ")}${matches.length > 4 ? ", ..." : ""})`);
  return matches[0];
}

// packages/core/dist/snapshot/create.js
import * as fs3 from "node:fs/promises";
import { hostname as osHostname3, userInfo as userInfo3 } from "node:os";
import * as path5 from "node:path";

// packages/core/dist/snapshot/chunk-list.js
var LIST_ENTRY_BYTES = 40;
var LIST_ENTRIES = 16384;
var LIST_MIN_ENTRIES = 256;
var LIST_BOUNDARY_MASK = 2047;
var ChunkListWriter = class {
  session;
  buf = Buffer.allocUnsafe(LIST_ENTRIES * LIST_ENTRY_BYTES);
  n = 0;
  lists = [];
  count = 0;
  constructor(session) {
    this.session = session;
  }
  async add(id, length, offset = 0) {
    const off = this.n * LIST_ENTRY_BYTES;
    id.copy(this.buf, off);
    this.buf.writeUInt32LE(offset, off + 32);
    this.buf.writeUInt32LE(length, off + 36);
    this.n++;
    this.count++;
    if (this.n === LIST_ENTRIES || this.n >= LIST_MIN_ENTRIES && ((id.readUInt16LE(30) ^ offset) & LIST_BOUNDARY_MASK) === 0)
      await this.flush();
  }
  /** Stores the partial list (if any). Call once at the end. */
  async finish() {
    if (this.n > 0)
      await this.flush();
    return this.lists;
  }
  async flush() {
    const list = this.buf.subarray(0, this.n * LIST_ENTRY_BYTES);
    const id = await this.session.saveBlob("list", list);
    this.lists.push(id.toString("hex"));
    this.buf = Buffer.allocUnsafe(LIST_ENTRIES * LIST_ENTRY_BYTES);
    this.n = 0;
  }
};
function decodeChunkList(plain, what) {
  if (plain.length % LIST_ENTRY_BYTES !== 0)
    throw corrupt(`${what}: chunk list length ${plain.length} is not a multiple of ${LIST_ENTRY_BYTES}`);
  const out = [];
  for (let off = 0; off < plain.length; off += LIST_ENTRY_BYTES) {
    out.push({ id: plain.subarray(off, off + 32), offset: plain.readUInt32LE(off + 32), length: plain.readUInt32LE(off + 36) });
  }
  return out;
}
async function* readChunkLists(repo, lists) {
  for (const hex of lists) {
    const [plain] = await repo.loadBlobs([Buffer.from(hex, "hex")]);
    yield decodeChunkList(plain, `chunk list ${hex}`);
  }
}

// packages/core/dist/snapshot/slice-stream.js
var SliceStream = class {
  cutter;
  fixedBytes;
  idOf;
  onBlob;
  /** Bytes appended so far (stream offset of the next byte). */
  pos = 0;
  /** Bytes of the stream already cut into blobs. */
  cutUpTo = 0;
  buf = new Uint8Array(0);
  len = 0;
  /** Blobs cut and not yet fully consumed by resolve(). */
  blobs = [];
  /**
   * `cutter`: content-defined cuts; undefined: fixed blobs of `fixedBytes`.
   * `onBlob` receives each new blob (its bytes are valid until the next call on this stream).
   */
  constructor(cutter, fixedBytes, idOf, onBlob) {
    this.cutter = cutter;
    this.fixedBytes = fixedBytes;
    this.idOf = idOf;
    this.onBlob = onBlob;
  }
  /** Appends a copy of `bytes`; returns its stream offset. Cuts the blobs that are decided. */
  append(bytes) {
    const at = this.pos;
    if (this.len + bytes.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + bytes.length, 64 * 1024));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    this.pos += bytes.length;
    if (this.len >= (this.cutter ? this.cutter.params.maxSize : this.fixedBytes))
      this.cut(false);
    return at;
  }
  /** Cuts everything appended so far into blobs (a flush point: layer end, input end). */
  flush() {
    this.cut(true);
  }
  /**
   * Maps stream range [start, start + length) to blob slices, if every byte of it is in
   * a cut blob; undefined otherwise. Ranges must be resolved in stream order.
   */
  resolve(start, length) {
    if (start + length > this.cutUpTo)
      return void 0;
    const out = [];
    let p = start;
    const end = start + length;
    while (p < end) {
      const b = this.blobs[0];
      if (p >= b.end) {
        this.blobs.shift();
        continue;
      }
      const n = Math.min(end, b.end) - p;
      out.push({ id: b.id, offset: p - b.start, length: n });
      p += n;
    }
    return out;
  }
  cut(final) {
    if (this.len === 0)
      return;
    let lengths;
    let count;
    if (this.cutter) {
      const r = this.cutter.cuts(this.buf.subarray(0, this.len), final);
      lengths = r.lengths;
      count = r.count;
    } else {
      if (!final && this.len < this.fixedBytes)
        return;
      lengths = [this.len];
      count = 1;
    }
    if (count === 0)
      return;
    const data = this.buf;
    let off = 0;
    for (let i = 0; i < count; i++) {
      const n = lengths[i];
      const bytes = data.subarray(off, off + n);
      const id = this.idOf(bytes);
      this.blobs.push({ start: this.cutUpTo, end: this.cutUpTo + n, id });
      this.onBlob({ start: this.cutUpTo, bytes, id });
      this.cutUpTo += n;
      off += n;
    }
    const rest = this.len - off;
    const next = new Uint8Array(Math.max(this.buf.length, 64 * 1024));
    next.set(data.subarray(off, this.len));
    this.buf = next;
    this.len = rest;
  }
};

// packages/core/dist/snapshot/content-writer.js
var GLUE_BYTES = 256 * 1024;
var SMALL_FILE = 4096;
var ContentWriter = class {
  session;
  cutter;
  lists;
  idOf;
  stats = { entries: 0, newChunks: 0, bytesNew: 0 };
  members = [];
  carry = new Uint8Array(0);
  /** True while `carry` is a view into the current input piece (copied before the piece is released). */
  carryIsView = false;
  /** True once the current unit has emitted a chunk of its own. */
  unitChunked = false;
  items = [];
  chunks = [];
  ids = [];
  max;
  /** Units smaller than this go to the small-file stream. */
  small;
  glue;
  smallFiles;
  constructor(session, cutter, lists, idOf, smallCutter) {
    this.session = session;
    this.cutter = cutter;
    this.lists = lists;
    this.idOf = idOf;
    this.max = cutter.params.maxSize;
    this.small = Math.min(SMALL_FILE, cutter.params.minSize);
    const onBlob = (b) => {
      this.chunks.push(b.bytes);
      this.ids.push(b.id);
    };
    this.glue = new SliceStream(void 0, GLUE_BYTES, idOf, onBlob);
    this.smallFiles = new SliceStream(smallCutter, 0, idOf, onBlob);
  }
  /**
   * Processes the events of one input piece. Views into the piece are used only until
   * this resolves (new chunks are copied by the session), so the caller may then hand
   * the piece on.
   */
  async process(events) {
    for (const e of events) {
      switch (e.kind) {
        case "content":
          this.content(e.bytes);
          break;
        case "end-content":
          this.endContent();
          break;
        case "glue":
          this.slice(this.glue, e.bytes);
          break;
        case "flush-glue":
          this.glue.flush();
          this.smallFiles.flush();
          break;
        case "member":
          this.members.push(e.member);
          break;
      }
      if (this.chunks.length >= 4096)
        await this.saveChunks();
    }
    if (this.carryIsView) {
      this.carry = new Uint8Array(this.carry);
      this.carryIsView = false;
    }
    await this.saveChunks();
    await this.writeItems();
  }
  /** Stores what is left; call once after the last piece (and the splitter's end events). */
  async finish() {
    if (this.carry.length)
      this.endContent();
    this.glue.flush();
    this.smallFiles.flush();
    await this.saveChunks();
    await this.writeItems();
    if (this.items.length)
      throw new Error("internal error: chunk-list entries left unresolved");
  }
  content(bytes) {
    let rest = bytes;
    if (this.carry.length > 0) {
      if (this.carry.length + bytes.length < this.max) {
        this.carry = concat(this.carry, bytes);
        this.carryIsView = false;
        return;
      }
      const take = Math.min(bytes.length, this.max);
      const joined = concat(this.carry, bytes.subarray(0, take));
      const r = this.cutter.cuts(joined, false);
      let consumed = 0;
      for (let i = 0; i < r.count && consumed < this.carry.length; i++) {
        const len = r.lengths[i];
        this.chunk(joined.subarray(consumed, consumed + len));
        consumed += len;
      }
      if (consumed < this.carry.length) {
        this.carry = concat(joined.subarray(consumed), bytes.subarray(take));
        this.carryIsView = false;
        return;
      }
      rest = bytes.subarray(consumed - this.carry.length);
      this.carry = new Uint8Array(0);
      this.carryIsView = false;
    }
    let off = 0;
    if (rest.length >= this.max) {
      const r = this.cutter.cuts(rest, false);
      for (let i = 0; i < r.count; i++) {
        const len = r.lengths[i];
        this.chunk(rest.subarray(off, off + len));
        off += len;
      }
    }
    if (off < rest.length) {
      this.carry = rest.subarray(off);
      this.carryIsView = true;
    }
  }
  endContent() {
    const unit = this.carry;
    const chunked = this.unitChunked;
    this.carry = new Uint8Array(0);
    this.carryIsView = false;
    this.unitChunked = false;
    if (unit.length === 0)
      return;
    if (unit.length < this.small && !chunked) {
      this.slice(this.smallFiles, unit);
      return;
    }
    if (unit.length <= this.cutter.params.minSize) {
      this.chunk(unit);
      this.unitChunked = false;
      return;
    }
    const r = this.cutter.cuts(unit, true);
    let off = 0;
    for (let i = 0; i < r.count; i++) {
      const len = r.lengths[i];
      this.chunk(unit.subarray(off, off + len));
      off += len;
    }
    this.unitChunked = false;
  }
  chunk(view) {
    this.unitChunked = true;
    const id = this.idOf(view);
    this.chunks.push(view);
    this.ids.push(id);
    this.items.push({ id, offset: 0, length: view.length });
  }
  /** Appends bytes to a slice stream and queues the entry that will point into its blobs. */
  slice(stream, bytes) {
    if (bytes.length === 0)
      return;
    const last = this.items[this.items.length - 1];
    const start = stream.pos;
    stream.append(bytes);
    if (last && "stream" in last && last.stream === stream && last.start + last.length === start)
      last.length += bytes.length;
    else
      this.items.push({ stream, start, length: bytes.length });
  }
  async saveChunks() {
    if (this.chunks.length === 0)
      return;
    const r = await this.session.saveChunks("data", this.chunks, this.ids);
    this.stats.newChunks += r.newBlobs;
    this.stats.bytesNew += r.newBytes;
    this.chunks = [];
    this.ids = [];
  }
  /** Writes queued entries, in order, up to the first slice whose blob is not cut yet. */
  async writeItems() {
    let i = 0;
    for (; i < this.items.length; i++) {
      const it = this.items[i];
      if ("id" in it) {
        await this.lists.add(it.id, it.length, it.offset);
        this.stats.entries++;
        continue;
      }
      const parts = it.stream.resolve(it.start, it.length);
      if (!parts)
        break;
      for (const p of parts) {
        await this.lists.add(p.id, p.length, p.offset);
        this.stats.entries++;
      }
    }
    this.items = this.items.slice(i);
  }
};
function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// packages/core/dist/split/events.js
var RawSplitter = class {
  push(piece, out) {
    if (piece.length)
      out.push({ kind: "content", bytes: piece });
  }
  end(out) {
    out.push({ kind: "end-content" });
  }
};

// packages/core/dist/split/tar-header.js
var BLOCK = 512;
function isZeroBlock(b) {
  for (let i = 0; i < BLOCK; i++)
    if (b[i] !== 0)
      return false;
  return true;
}
function parseHeader(b) {
  if (b.length < BLOCK)
    return void 0;
  const chk = parseNumber(b, 148, 8);
  if (chk === void 0 || chk !== checksum(b))
    return void 0;
  const size = parseNumber(b, 124, 12);
  const mode = parseNumber(b, 100, 8) ?? 0;
  if (size === void 0 || size < 0)
    return void 0;
  const type = String.fromCharCode(b[156]);
  const ustar = b[257] === 117 && b[258] === 115 && b[259] === 116 && b[260] === 97 && b[261] === 114;
  let name = cstring(b, 0, 100);
  if (ustar && b[345] !== 0 && type !== "S")
    name = `${cstring(b, 345, 155)}/${name}`;
  const linkname = type === "1" || type === "2" ? cstring(b, 157, 100) : "";
  return { name, type, size, mode, sparseExtended: type === "S" && b[482] !== 0, ustar, linkname };
}
function hasData(type) {
  return !["1", "2", "3", "4", "5", "6"].includes(type);
}
function isMetaType(type) {
  return ["x", "g", "X", "L", "K", "V", "M", "N"].includes(type);
}
function checksum(b) {
  let s = 0;
  for (let i = 0; i < BLOCK; i++)
    s += i >= 148 && i < 156 ? 32 : b[i];
  return s;
}
function parseNumber(b, off, len) {
  const first = b[off];
  if (first & 128) {
    if (first === 255)
      return void 0;
    let v2 = first & 127;
    for (let i2 = 1; i2 < len; i2++) {
      v2 = v2 * 256 + b[off + i2];
      if (v2 > Number.MAX_SAFE_INTEGER)
        return void 0;
    }
    return v2;
  }
  let i = off;
  const end = off + len;
  while (i < end && b[i] === 32)
    i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0 || c === 32)
      break;
    if (c < 48 || c > 55)
      return void 0;
    v = v * 8 + (c - 48);
    digits++;
  }
  for (; i < end; i++)
    if (b[i] !== 0 && b[i] !== 32)
      return void 0;
  return digits === 0 ? 0 : v;
}
function parsePax(data) {
  const out = /* @__PURE__ */ new Map();
  let off = 0;
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  while (off < text.length) {
    if (text[off] === 0)
      break;
    const sp = text.indexOf(32, off);
    if (sp < 0)
      return void 0;
    const len = Number(text.toString("latin1", off, sp));
    if (!Number.isInteger(len) || len <= sp - off || off + len > text.length)
      return void 0;
    const rec = text.toString("utf8", sp + 1, off + len - 1);
    const eq = rec.indexOf("=");
    if (eq < 0)
      return void 0;
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return out;
}
function cstring(b, off, len) {
  let end = off;
  while (end < off + len && b[end] !== 0)
    end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString("utf8");
}

// packages/core/dist/split/tar-splitter.js
var CAPTURE_MAX = 1 << 20;
var PAX_MAX = 1 << 20;
var NESTED_MIN = 2 * BLOCK;
var MAGIC_BYTES = 6;
var MAX_DEPTH = 2;
var TarSplitter = class _TarSplitter {
  base;
  depth;
  mode = "header";
  block = new Uint8Array(BLOCK);
  fill = 0;
  /** Bytes left in the current data / meta / padding / extension region. */
  left = 0;
  padAfter = 0;
  paxSize;
  paxBuf;
  child;
  member;
  /** Position in this level's stream. */
  pos = 0;
  rawStarted = false;
  /** `base`: offset of this level's stream in the input; `depth`: 0 for the input itself. */
  constructor(base = 0, depth = 0) {
    this.base = base;
    this.depth = depth;
  }
  push(piece, out) {
    let off = 0;
    while (off < piece.length)
      off += this.step(piece, off, out);
  }
  end(out) {
    switch (this.mode) {
      case "header":
      case "ext":
        if (this.fill)
          this.toRaw(this.block.slice(0, this.fill), out);
        break;
      case "sniff":
        this.emitContent(this.block.slice(0, this.fill), out);
        out.push({ kind: "end-content" });
        break;
      case "data":
        out.push({ kind: "end-content" });
        break;
      case "nested":
        this.child.end(out);
        out.push({ kind: "flush-glue" });
        break;
      default:
        break;
    }
    if (this.mode === "raw")
      out.push({ kind: "end-content" });
    this.mode = "trailer";
  }
  /** Consumes bytes from piece[off..]; returns how many. */
  step(piece, off, out) {
    const avail = piece.length - off;
    switch (this.mode) {
      case "header":
      case "ext": {
        const n = Math.min(avail, BLOCK - this.fill);
        this.block.set(piece.subarray(off, off + n), this.fill);
        this.fill += n;
        this.pos += n;
        if (this.fill === BLOCK) {
          this.fill = 0;
          if (this.mode === "header")
            this.onHeader(out);
          else
            this.onExtension(out);
        }
        return n;
      }
      case "trailer":
        out.push({ kind: "glue", bytes: piece.subarray(off) });
        this.pos += avail;
        return avail;
      case "raw":
        out.push({ kind: "content", bytes: piece.subarray(off) });
        this.pos += avail;
        return avail;
      case "meta":
      case "pad": {
        const n = Math.min(avail, this.left);
        const bytes = piece.subarray(off, off + n);
        out.push({ kind: "glue", bytes });
        if (this.mode === "meta" && this.paxBuf)
          this.paxBuf.push(new Uint8Array(bytes));
        this.left -= n;
        this.pos += n;
        if (this.left === 0)
          this.afterRegion(out);
        return n;
      }
      case "sniff": {
        if (this.fill === 0 && avail >= BLOCK) {
          this.decide(piece.subarray(off, off + BLOCK), out);
          return 0;
        }
        const n = Math.min(avail, BLOCK - this.fill, this.left);
        this.block.set(piece.subarray(off, off + n), this.fill);
        this.fill += n;
        this.left -= n;
        this.pos += n;
        if (this.fill === BLOCK || this.left === 0)
          this.onSniffed(out);
        return n;
      }
      case "data": {
        const n = Math.min(avail, this.left);
        const bytes = piece.subarray(off, off + n);
        this.emitContent(bytes, out);
        this.left -= n;
        this.pos += n;
        if (this.left === 0) {
          out.push({ kind: "end-content" });
          this.afterRegion(out);
        }
        return n;
      }
      case "nested": {
        const n = Math.min(avail, this.left);
        this.child.push(piece.subarray(off, off + n), out);
        this.left -= n;
        this.pos += n;
        if (this.left === 0) {
          this.child.end(out);
          this.child = void 0;
          out.push({ kind: "flush-glue" });
          this.afterRegion(out);
        }
        return n;
      }
    }
  }
  onHeader(out) {
    const blk = this.block;
    if (isZeroBlock(blk)) {
      out.push({ kind: "glue", bytes: blk.slice() });
      this.mode = "trailer";
      return;
    }
    const h = parseHeader(blk);
    if (!h)
      return this.toRaw(blk.slice(), out);
    out.push({ kind: "glue", bytes: blk.slice() });
    let size = hasData(h.type) ? h.size : 0;
    if (this.paxSize !== void 0 && hasData(h.type) && !isMetaType(h.type))
      size = this.paxSize;
    if (!isMetaType(h.type))
      this.paxSize = void 0;
    this.left = size;
    this.padAfter = (BLOCK - size % BLOCK) % BLOCK;
    const dataOffset = this.base + this.pos;
    if (isMetaType(h.type)) {
      this.paxBuf = h.type === "x" && size <= PAX_MAX ? [] : void 0;
      this.mode = "meta";
    } else {
      this.member = { name: h.name, type: h.type, offset: dataOffset, size, nested: false, ...this.wantsCapture(h.name, size) && { capture: [] }, ...h.linkname && { linkname: h.linkname } };
      if (h.sparseExtended)
        this.mode = "ext";
      else
        this.mode = size >= NESTED_MIN && this.depth < MAX_DEPTH && (h.type === "0" || h.type === "\0" || h.type === "7") ? "sniff" : "data";
    }
    if (this.mode !== "ext" && size === 0)
      this.afterRegion(out);
  }
  /** GNU old-sparse extension block: glue; another follows while byte 504 is set. */
  onExtension(out) {
    out.push({ kind: "glue", bytes: this.block.slice() });
    if (this.block[504] !== 0)
      return;
    this.mode = "data";
    if (this.left === 0)
      this.afterRegion(out);
  }
  /** Sniffing without a copy: the member's first block is `head`, not yet consumed. */
  decide(head, out) {
    if (parseHeader(head)?.ustar === true) {
      this.member.nested = true;
      this.child = new _TarSplitter(this.base + this.pos, this.depth + 1);
      out.push({ kind: "flush-glue" });
      this.mode = "nested";
    } else {
      this.mode = "data";
    }
  }
  onSniffed(out) {
    const head = this.block.slice(0, this.fill);
    this.fill = 0;
    const nested = head.length === BLOCK && parseHeader(head)?.ustar === true;
    if (nested) {
      this.member.nested = true;
      this.child = new _TarSplitter(this.base + this.pos - head.length, this.depth + 1);
      out.push({ kind: "flush-glue" });
      this.child.push(head, out);
      this.mode = "nested";
      if (this.left === 0) {
        this.child.end(out);
        this.child = void 0;
        out.push({ kind: "flush-glue" });
        this.afterRegion(out);
      }
      return;
    }
    this.emitContent(head, out);
    this.mode = "data";
    if (this.left === 0) {
      out.push({ kind: "end-content" });
      this.afterRegion(out);
    }
  }
  /** After a member's data (or meta region): padding, then the next header. */
  afterRegion(out) {
    if (this.mode === "meta" && this.paxBuf) {
      const pax = parsePax(Buffer.concat(this.paxBuf));
      const s = pax?.get("size");
      this.paxSize = s !== void 0 && /^\d+$/.test(s) ? Number(s) : void 0;
      this.paxBuf = void 0;
    }
    const m = this.member;
    if (m && this.mode !== "meta") {
      if (this.depth === 0)
        out.push({ kind: "member", member: this.memberEvent(m) });
      this.member = void 0;
    }
    if (this.padAfter > 0) {
      this.left = this.padAfter;
      this.padAfter = 0;
      this.mode = "pad";
    } else {
      this.mode = "header";
    }
  }
  memberEvent(m) {
    const compression = m.magic && !m.nested ? compressionOf(m.magic) : void 0;
    return {
      name: m.name,
      type: m.type,
      offset: m.offset,
      size: m.size,
      nestedTar: m.nested,
      ...m.capture && !m.nested && { data: Buffer.concat(m.capture) },
      ...m.linkname !== void 0 && { linkname: m.linkname },
      ...compression && { compression }
    };
  }
  emitContent(bytes, out) {
    if (bytes.length === 0)
      return;
    out.push({ kind: "content", bytes });
    const c = this.member?.capture;
    if (c && c.length === 0 && bytes[0] !== 123 && bytes[0] !== 91 && bytes[0] !== 32 && bytes[0] !== 10 && bytes[0] !== 9 && bytes[0] !== 13)
      delete this.member.capture;
    else
      c?.push(new Uint8Array(bytes));
    const m = this.member;
    if (m && this.depth === 0 && (m.magic === void 0 || m.magic.length < MAGIC_BYTES))
      m.magic = Buffer.concat([m.magic ?? new Uint8Array(0), bytes.subarray(0, MAGIC_BYTES - (m.magic?.length ?? 0))]);
  }
  /** From here on, everything at this level is one content unit. */
  toRaw(first, out) {
    if (!this.rawStarted)
      out.push({ kind: "flush-glue" });
    this.rawStarted = true;
    this.mode = "raw";
    out.push({ kind: "content", bytes: first });
  }
  wantsCapture(name, size) {
    if (this.depth !== 0 || size > CAPTURE_MAX)
      return false;
    const n = name.replace(/^\.\//, "");
    return n === "manifest.json" || n === "index.json" || n === "oci-layout" || n === "repositories" || n.endsWith(".json") || /^blobs\/[a-z0-9]+\/[0-9a-f]{32,}$/.test(n);
  }
};
function compressionOf(b) {
  if (b[0] === 31 && b[1] === 139)
    return "gzip";
  if (b[0] === 40 && b[1] === 181 && b[2] === 47 && b[3] === 253)
    return "zstd";
  if (b[0] === 66 && b[1] === 90 && b[2] === 104)
    return "bzip2";
  if (b[0] === 253 && b[1] === 55 && b[2] === 122 && b[3] === 88 && b[4] === 90 && b[5] === 0)
    return "xz";
  return void 0;
}

// packages/core/dist/split/detect.js
var INPUT_FORMATS = ["auto", "raw", "tar", "docker", "oci"];
var SNIFF_BYTES = BLOCK;
function splitterFor(format, head) {
  if (!INPUT_FORMATS.includes(format))
    throw new StowageError("INVALID_ARGUMENT", `unknown format "${format}" (use ${INPUT_FORMATS.join(", ")})`);
  const tar = format === "auto" ? head.length >= BLOCK && parseHeader(head.subarray(0, BLOCK)) !== void 0 : format !== "raw";
  return { splitter: tar ? new TarSplitter() : new RawSplitter(), tar };
}

// packages/core/dist/snapshot/create.js
var __addDisposableResource2 = function(env2, value, async) {
  if (value !== null && value !== void 0) {
    if (typeof value !== "object" && typeof value !== "function") throw new TypeError("Object expected.");
    var dispose, inner;
    if (async) {
      if (!Symbol.asyncDispose) throw new TypeError("Symbol.asyncDispose is not defined.");
      dispose = value[Symbol.asyncDispose];
    }
    if (dispose === void 0) {
      if (!Symbol.dispose) throw new TypeError("Symbol.dispose is not defined.");
      dispose = value[Symbol.dispose];
      if (async) inner = dispose;
    }
    if (typeof dispose !== "function") throw new TypeError("Object not disposable.");
    if (inner) dispose = function() {
      try {
        inner.call(this);
      } catch (e) {
        return Promise.reject(e);
      }
    };
    env2.stack.push({ value, dispose, async });
  } else if (async) {
    env2.stack.push({ async: true });
  }
  return value;
};
var __disposeResources2 = /* @__PURE__ */ (function(SuppressedError2) {
  return function(env2) {
    function fail(e) {
      env2.error = env2.hasError ? new SuppressedError2(e, env2.error, "An error was suppressed during disposal.") : e;
      env2.hasError = true;
    }
    var r, s = 0;
    function next() {
      while (r = env2.stack.pop()) {
        try {
          if (!r.async && s === 1) return s = 0, env2.stack.push(r), Promise.resolve().then(next);
          if (r.dispose) {
            var result = r.dispose.call(r.value);
            if (r.async) return s |= 2, Promise.resolve(result).then(next, function(e) {
              fail(e);
              return next();
            });
          } else s |= 1;
        } catch (e) {
          fail(e);
        }
      }
      if (s === 1) return env2.hasError ? Promise.reject(env2.error) : Promise.resolve();
      if (env2.hasError) throw env2.error;
    }
    return next();
  };
})(typeof SuppressedError === "function" ? SuppressedError : function(error, suppressed, message) {
  var e = new Error(message);
  return e.name = "SuppressedError", e.error = error, e.suppressed = suppressed, e;
});
var PROGRAM = "stowage 0.1.0";
var INLINE_BELOW = 4 * 1024 * 1024;
var READ_BYTES = 4 * 1024 * 1024;
var READ_SLOTS = 4;
async function snapshotFile(repo, file, opts = {}) {
  const env_1 = { stack: [], error: void 0, hasError: false };
  try {
    const abs = path5.resolve(file);
    let st;
    try {
      st = await fs3.stat(abs, { bigint: true });
    } catch (err) {
      throw inputError(abs, err);
    }
    if (!st.isFile())
      throw new StowageError("INPUT_UNREADABLE", `cannot read ${abs}: not a regular file`);
    const stat3 = { dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString() };
    const host = opts.hostname ?? osHostname3();
    const _lock = __addDisposableResource2(env_1, await lockRepository(repo, "shared"), true);
    if (!opts.force) {
      const parent = await findUnchanged(repo, abs, stat3, host);
      if (parent)
        return { snapshot: await reuse(repo, parent, opts, host), reused: true };
    }
    let fh;
    try {
      fh = await fs3.open(abs, "r");
    } catch (err) {
      throw inputError(abs, err);
    }
    try {
      const workers = stat3.size < INLINE_BELOW ? 0 : opts.workers;
      const snapshot = await snapshotStream(repo, readFileHandle(fh, abs), { kind: "file", path: abs, stat: stat3 }, { ...opts, hostname: host, ...workers === void 0 ? {} : { workers } });
      return { snapshot, reused: false };
    } finally {
      await fh.close();
    }
  } catch (e_1) {
    env_1.error = e_1;
    env_1.hasError = true;
  } finally {
    const result_1 = __disposeResources2(env_1);
    if (result_1)
      await result_1;
  }
}
async function snapshotStream(repo, source, src, opts = {}) {
  const env_2 = { stack: [], error: void 0, hasError: false };
  try {
    const t0 = performance.now();
    const _lock = __addDisposableResource2(env_2, await lockRepository(repo, "shared"), true);
    const session = new WriteSession(repo, opts.workers === void 0 ? {} : { workers: opts.workers });
    try {
      const cutter = repo.cutter();
      const pool = repo.codecs(opts.workers);
      await pool.shaDigest();
      const lists = new ChunkListWriter(session);
      const writer = new ContentWriter(session, cutter, lists, (d) => repo.codec.id(d), repo.cutter());
      let bytesRead = 0;
      let split;
      let head = [];
      let headBytes = 0;
      const events = [];
      const feed = async (piece) => {
        split.splitter.push(piece, events);
        await writer.process(events);
        events.length = 0;
        bytesRead += piece.length;
        const slot = pieceSlots.get(piece);
        const hashed = pool.shaUpdate([piece]);
        if (slot)
          hashed.then(slot.release, slot.release);
        opts.progress?.({ op: "snapshot", done: bytesRead, total: src.stat?.size });
      };
      for await (const piece of source) {
        opts.signal?.throwIfAborted();
        if (!split) {
          head.push(piece);
          headBytes += piece.length;
          if (headBytes < SNIFF_BYTES)
            continue;
          const first = head.length === 1 ? head[0] : Buffer.concat(head);
          split = splitterFor(opts.format ?? "auto", first);
          await feed(first);
          if (head.length > 1)
            for (const h of head)
              pieceSlots.get(h)?.release();
          head = [];
          continue;
        }
        await feed(piece);
      }
      if (!split) {
        const first = Buffer.concat(head);
        split = splitterFor(opts.format ?? "auto", first);
        if (first.length)
          await feed(first);
        for (const h of head)
          pieceSlots.get(h)?.release();
      }
      split.splitter.end(events);
      await writer.process(events);
      await writer.finish();
      const image = split.tar ? imageFacts(writer.members) : void 0;
      const format = !split.tar ? "raw" : image && !image.warnings ? image.kind : "tar";
      if ((opts.format === "docker" || opts.format === "oci") && (!image || image.warnings || image.kind !== opts.format && !writer.members.some((m) => m.name.replace(/^\.\//, "") === "manifest.json"))) {
        const what = opts.format === "docker" ? "a docker-archive (no manifest.json)" : "an OCI image archive (no oci-layout and index.json)";
        const why = image?.warnings ? `not a complete ${image.kind === "docker" ? "docker-archive" : "OCI image archive"}: ${image.warnings.join("; ")}` : `not ${what}`;
        throw new StowageError("INVALID_ARGUMENT", `input is ${why}; nothing was stored under a snapshot (without --format ${opts.format} it is stored as a plain tar)`);
      }
      const bytesNew = writer.stats.bytesNew;
      const newChunks = writer.stats.newChunks;
      const listIds = await lists.finish();
      await session.flush();
      const sourceInfo = { kind: src.kind, path: src.path, size: bytesRead, sha256: await pool.shaDigest(), ...src.stat ? { stat: src.stat } : {} };
      const manifest = {
        version: 1,
        time: (opts.time ?? /* @__PURE__ */ new Date()).toISOString(),
        hostname: opts.hostname ?? osHostname3(),
        username: safeUsername3(),
        program: PROGRAM,
        name: opts.name ?? (src.kind === "stdin" ? "stdin" : path5.basename(src.path)),
        tags: [...opts.tags ?? []],
        source: sourceInfo,
        format,
        ...image && { image },
        content: { chunks: lists.count, lists: listIds },
        summary: {
          bytesRead,
          bytesNew,
          bytesStored: session.stats.storedBytes,
          chunks: lists.count,
          newChunks,
          seconds: (performance.now() - t0) / 1e3
        }
      };
      const id = await repo.saveFile("snapshot", encodeManifest(manifest));
      return { id, ...manifest };
    } catch (err) {
      await session.abort(err);
      throw err;
    }
  } catch (e_2) {
    env_2.error = e_2;
    env_2.hasError = true;
  } finally {
    const result_2 = __disposeResources2(env_2);
    if (result_2)
      await result_2;
  }
}
async function findUnchanged(repo, abs, stat3, host) {
  const all = await listSnapshots(repo);
  for (let i = all.length - 1; i >= 0; i--) {
    const s = all[i];
    if (s.source.path !== abs || s.hostname !== host)
      continue;
    const p = s.source.stat;
    const same = p && p.dev === stat3.dev && p.ino === stat3.ino && p.size === stat3.size && p.mtimeNs === stat3.mtimeNs && p.ctimeNs === stat3.ctimeNs;
    return same ? s : void 0;
  }
  return void 0;
}
async function reuse(repo, parent, opts, host) {
  const t0 = performance.now();
  const manifest = {
    version: 1,
    time: (opts.time ?? /* @__PURE__ */ new Date()).toISOString(),
    hostname: host,
    username: safeUsername3(),
    program: PROGRAM,
    name: opts.name ?? parent.name,
    tags: [...opts.tags ?? []],
    source: parent.source,
    ...parent.format && { format: parent.format },
    ...parent.image && { image: parent.image },
    content: parent.content,
    summary: { bytesRead: 0, bytesNew: 0, bytesStored: 0, chunks: parent.content.chunks, newChunks: 0, seconds: (performance.now() - t0) / 1e3 },
    parent: parent.id
  };
  const id = await repo.saveFile("snapshot", encodeManifest(manifest));
  return { id, ...manifest };
}
var pieceSlots = /* @__PURE__ */ new WeakMap();
async function* readFileHandle(fh, what) {
  const ring = new SlotRing(READ_SLOTS, READ_BYTES);
  for (; ; ) {
    const slot = await ring.acquire();
    let n;
    try {
      n = (await fh.read(slot.bytes, 0, READ_BYTES, null)).bytesRead;
    } catch (err) {
      slot.release();
      throw inputError(what, err);
    }
    if (n === 0) {
      slot.release();
      return;
    }
    const piece = slot.bytes.subarray(0, n);
    pieceSlots.set(piece, slot);
    yield piece;
  }
}
function inputError(what, err) {
  if (err instanceof StowageError)
    return err;
  const e = err;
  const why = e.code === "ENOENT" ? "no such file" : e.code === "EACCES" ? "permission denied" : e.code === "EISDIR" ? "is a directory" : e.message;
  return new StowageError("INPUT_UNREADABLE", `cannot read ${what}: ${why}`, { cause: err });
}
function safeUsername3() {
  try {
    return userInfo3().username;
  } catch {
    return "";
  }
}

// packages/core/dist/restore/restore.js
import { randomBytes as randomBytes5 } from "node:crypto";
import * as fs4 from "node:fs/promises";
import * as path6 from "node:path";

// packages/core/dist/restore/plan.js
var MAX_GAP = 256 * 1024;
var MAX_READ = 16 * 1024 * 1024;
function planReads(refs, locs) {
  const byPack = /* @__PURE__ */ new Map();
  const seen = /* @__PURE__ */ new Set();
  for (const r of refs) {
    const key = r.id.toString("latin1");
    if (seen.has(key))
      continue;
    seen.add(key);
    const loc = locs.get(key);
    if (!loc)
      throw corrupt(`blob ${r.id.toString("hex")} is referenced by the snapshot but missing from the index`);
    let list = byPack.get(loc.pack);
    if (!list)
      byPack.set(loc.pack, list = []);
    list.push({ key, id: r.id, loc });
  }
  const reads = [];
  for (const [pack, blobs] of byPack) {
    blobs.sort((a, b) => a.loc.offset - b.loc.offset);
    let cur;
    for (const b of blobs) {
      const end = b.loc.offset + b.loc.length;
      if (cur && b.loc.offset - cur.end <= MAX_GAP && end - cur.offset <= MAX_READ) {
        cur.blobs.push(b);
        cur.end = Math.max(cur.end, end);
      } else {
        if (cur)
          reads.push({ pack, offset: cur.offset, length: cur.end - cur.offset, blobs: cur.blobs });
        cur = { offset: b.loc.offset, end, blobs: [b] };
      }
    }
    if (cur)
      reads.push({ pack, offset: cur.offset, length: cur.end - cur.offset, blobs: cur.blobs });
  }
  return reads;
}

// packages/core/dist/restore/restore.js
async function restoreToFile(repo, id, target, opts = {}) {
  const abs = path6.resolve(target);
  if (!opts.overwrite && await exists(abs))
    throw new StowageError("TARGET_EXISTS", `target ${abs} exists (use --overwrite to replace it)`);
  const tmp = path6.join(path6.dirname(abs), `.${path6.basename(abs)}.stowage-${randomBytes5(6).toString("hex")}`);
  let fh;
  try {
    fh = await fs4.open(tmp, "wx", 420);
  } catch (err) {
    throw new StowageError("INVALID_ARGUMENT", `cannot write restore target ${abs}: ${err.message}`, { cause: err });
  }
  let done = false;
  try {
    let pos = 0;
    const result = await restore(repo, id, {
      write: async (pieces) => {
        let want = 0;
        for (const p of pieces)
          want += p.length;
        const { bytesWritten } = await fh.writev(pieces, pos);
        pos += bytesWritten;
        if (bytesWritten !== want) {
          let skip = bytesWritten;
          for (const p of pieces) {
            if (skip >= p.length) {
              skip -= p.length;
              continue;
            }
            let off = skip;
            skip = 0;
            while (off < p.length) {
              const r = await fh.write(p, off, p.length - off, pos);
              off += r.bytesWritten;
              pos += r.bytesWritten;
            }
          }
        }
      }
    }, opts);
    await fh.close();
    if (opts.overwrite) {
      await fs4.rename(tmp, abs);
    } else {
      try {
        await fs4.link(tmp, abs);
      } catch (err) {
        if (err.code === "EEXIST")
          throw new StowageError("TARGET_EXISTS", `target ${abs} appeared during the restore; not replaced`);
        throw err;
      }
      await fs4.unlink(tmp);
    }
    done = true;
    return result;
  } finally {
    if (!done) {
      await fh.close().catch(() => void 0);
      await fs4.unlink(tmp).catch(() => void 0);
    }
  }
}
async function restoreToStream(repo, id, out, opts = {}) {
  return restore(repo, id, {
    write: (pieces) => new Promise((resolve6, reject) => {
      if (pieces.length === 0)
        return resolve6();
      pieces.forEach((p, i) => out.write(p, i === pieces.length - 1 ? (err) => err ? reject(err) : resolve6() : void 0));
    })
  }, opts);
}
async function restore(repo, id, sink, opts) {
  const snap = await loadSnapshot(repo, id);
  const windowBytes = opts.windowBytes ?? 8 * 1024 * 1024;
  const ahead = opts.ahead ?? 2;
  const workers = snap.source.size < 4 * 1024 * 1024 ? 0 : opts.workers;
  const pool = repo.codecs(workers);
  await pool.shaDigest();
  const inFlight = [];
  let bytes = 0;
  const image = opts.imageCheck === false ? void 0 : imageRangeHasher(snap);
  if (image)
    pool.rangeStart(image.ranges);
  const rings = workers === 0 ? void 0 : windowRings(windowBytes, repo.config.chunker.maxSize);
  const emit = async () => {
    const { pieces, release } = await inFlight.shift();
    const at = bytes;
    for (const p of pieces)
      bytes += p.length;
    await sink.write(pieces);
    const ranged = image ? pool.rangeUpdate(pieces, at) : Promise.resolve();
    Promise.all([ranged, pool.shaUpdate(pieces)]).then(release, release);
    opts.progress?.({ op: "restore", done: bytes, total: snap.source.size });
  };
  try {
    for await (const window of windows(readChunkLists(repo, snap.content.lists), windowBytes)) {
      opts.signal?.throwIfAborted();
      const p = buildWindow(repo, pool, window, rings);
      p.catch(() => void 0);
      inFlight.push(p);
      while (inFlight.length > ahead)
        await emit();
    }
    while (inFlight.length)
      await emit();
  } catch (err) {
    for (const r of await Promise.allSettled(inFlight))
      if (r.status === "fulfilled")
        r.value.release();
    throw err;
  }
  const digest = await pool.shaDigest();
  if (bytes !== snap.source.size)
    throw corrupt(`snapshot ${id}: restored ${bytes} bytes, but the snapshot recorded ${snap.source.size}`);
  const bad = image ? await pool.rangeResult() : [];
  if (digest !== snap.source.sha256)
    throw corrupt(`snapshot ${id}: restored data has sha256 ${digest}, but the snapshot recorded ${snap.source.sha256}${bad.length ? `; ${describeMismatches(bad)}` : ""}`);
  const warnings = bad.map((m) => `${m.what} (${m.path}) does not match its digest (the bytes have ${m.actual}), and did not when the archive was snapshotted: restored as it was stored`);
  return { snapshot: snap, bytes, sha256: digest, ...image && { imageBlobsVerified: image.count - bad.length }, ...warnings.length && { warnings } };
}
async function* windows(lists, windowBytes) {
  let cur = [];
  let size = 0;
  for await (const list of lists) {
    for (const r of list) {
      cur.push(r);
      size += r.length;
      if (size >= windowBytes) {
        yield cur;
        cur = [];
        size = 0;
      }
    }
  }
  if (cur.length)
    yield cur;
}
function windowRings(windowBytes, maxChunk) {
  const out = windowBytes + 2 * Math.max(maxChunk, 1 << 20);
  return { read: new SlotRing(2, out + MAX_GAP * 4), out: new SlotRing(3, out) };
}
async function buildWindow(repo, pool, refs, rings) {
  const outSlot = rings ? await rings.out.acquire() : void 0;
  let readSlot;
  const release = () => {
    readSlot?.release();
    outSlot?.release();
  };
  try {
    const unique = /* @__PURE__ */ new Map();
    for (const r of refs)
      unique.set(r.id.toString("latin1"), r.id);
    const keys = [...unique.keys()];
    const found = await repo.lookup([...unique.values()]);
    const locs = /* @__PURE__ */ new Map();
    keys.forEach((k, i) => {
      const l = found[i];
      if (l)
        locs.set(k, l);
    });
    const reads = planReads(refs, locs);
    let readTotal = 0;
    let plainTotal = 0;
    for (const rd of reads) {
      readTotal += rd.length;
      for (const b of rd.blobs)
        plainTotal += b.loc.rawLength;
    }
    if (outSlot && rings && plainTotal <= outSlot.bytes.length && readTotal <= rings.read.size)
      readSlot = await rings.read.acquire();
    else
      outSlot?.release();
    const shared = readSlot !== void 0;
    const plain = /* @__PURE__ */ new Map();
    let readOff = 0;
    let outOff = 0;
    await Promise.all(reads.map(async (rd) => {
      const items = rd.blobs.map((b) => ({ offset: b.loc.offset - rd.offset, length: b.loc.length, rawLength: b.loc.rawLength, compressed: b.loc.compressed, id: b.id }));
      const what = `pack ${rd.pack}`;
      const fail = (err) => {
        throw isStowageError(err) ? err : new StowageError("CORRUPT", `${what}: ${err.message}`);
      };
      let out;
      let lengths;
      if (shared) {
        const src = readSlot.bytes.subarray(readOff, readOff + rd.length);
        readOff += rd.length;
        let n = 0;
        for (const it of items)
          n += it.rawLength;
        out = outSlot.bytes.subarray(outOff, outOff + n);
        outOff += n;
        await repo.readPackRangeInto(rd.pack, rd.offset, rd.length, src);
        lengths = await pool.decodeInto(src, items, out, what).catch(fail);
      } else {
        const stored = await repo.readPackRange(rd.pack, rd.offset, rd.length);
        const dec = await pool.decode(stored, items, what).catch(fail);
        out = dec.plain;
        lengths = dec.lengths;
      }
      let off = 0;
      rd.blobs.forEach((b, i) => {
        const len = lengths[i];
        plain.set(b.key, out.subarray(off, off + len));
        off += len;
      });
    }));
    readSlot?.release();
    readSlot = void 0;
    const pieces = [];
    for (const r of refs) {
      const blob = plain.get(r.id.toString("latin1"));
      if (r.offset + r.length > blob.length)
        throw corrupt(`blob ${r.id.toString("hex")}: ${blob.length} bytes, but the chunk list needs ${r.offset}+${r.length}`);
      const p = r.offset === 0 && r.length === blob.length ? blob : blob.subarray(r.offset, r.offset + r.length);
      const last = pieces[pieces.length - 1];
      if (last && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset) {
        pieces[pieces.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + p.length);
      } else {
        pieces.push(Buffer.from(p.buffer, p.byteOffset, p.length));
      }
    }
    return { pieces, release: shared ? release : () => void 0 };
  } catch (err) {
    release();
    throw err;
  }
}
async function exists(p) {
  try {
    await fs4.lstat(p);
    return true;
  } catch {
    return false;
  }
}

// packages/core/dist/index/index-table.js
var BLOCK_BITS = 16;
var BLOCK2 = 1 << BLOCK_BITS;
var MASK = BLOCK2 - 1;
var MAX_LOAD = 0.7;
var LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
function word(b, off) {
  return LITTLE_ENDIAN ? (b[off] | b[off + 1] << 8 | b[off + 2] << 16 | b[off + 3] << 24) >>> 0 : (b[off] << 24 | b[off + 1] << 16 | b[off + 2] << 8 | b[off + 3]) >>> 0;
}
var IndexTable = class _IndexTable {
  packs = [];
  /** Index files read successfully. */
  indexFiles = [];
  /** Entries stored. */
  count = 0;
  /** Entries whose id was already stored from another pack. */
  duplicates = 0;
  packNos = /* @__PURE__ */ new Map();
  ids = [];
  words = [];
  packOf = [];
  offsets = [];
  lengths = [];
  raws = [];
  flags = [];
  marks = [];
  /** Per slot, interleaved (one cache line): entry number + 1 (0 = empty), and the first id word of that entry. */
  slots = new Uint32Array(2 << 16);
  slotMask = (1 << 16) - 1;
  get capacity() {
    return this.slots.length >>> 1;
  }
  used = 0;
  /** Reads every index file of `repo` into a table. */
  static async load(repo, opts = {}) {
    const t = new _IndexTable();
    if (opts.packSizes)
      t.sizes = opts.packSizes;
    for (const name of await repo.listNames("index")) {
      let buf;
      try {
        buf = await repo.loadFile("index", name);
        scanIndexFile(buf, `index file ${name}`, () => void 0);
      } catch (err) {
        if (!opts.onError || !isStowageError(err, "CORRUPT", "NOT_FOUND"))
          throw err;
        opts.onError(name, err);
        continue;
      }
      t.indexFiles.push(name);
      scanIndexFile(buf, `index file ${name}`, (pack, raw, n) => t.addPack(name, pack, raw, n));
    }
    if (opts.packSizes)
      t.setPackSizes(opts.packSizes);
    return t;
  }
  sizes;
  /** Records which packs exist (and their sizes); packs not in `sizes` are missing. */
  setPackSizes(sizes) {
    this.sizes = sizes;
    for (const p of this.packs)
      p.size = sizes.get(p.id);
  }
  /** Adds the raw entries of one pack listing (skipped when the pack was listed before). */
  addPack(indexFile, pack, raw, n) {
    const known = this.packNos.get(pack);
    if (known !== void 0) {
      this.packs[known].indexFiles.push(indexFile);
      return;
    }
    const no = this.packs.length;
    this.packNos.set(pack, no);
    const present = this.sizes ? this.sizes.has(pack) : true;
    this.packs.push({ id: pack, no, first: this.count, count: n, indexFiles: [indexFile], size: this.sizes?.get(pack) });
    for (let i = 0; i < n; i++) {
      const off = i * ENTRY_BYTES;
      const e = this.count++;
      const b = e >>> BLOCK_BITS;
      if (b === this.ids.length)
        this.grow();
      const s = e & MASK;
      const ids = this.ids[b];
      const to = s * ID_BYTES;
      for (let k = 0; k < ID_BYTES; k++)
        ids[to + k] = raw[off + k];
      this.packOf[b][s] = no;
      this.flags[b][s] = raw[off + 33] & FLAG_COMPRESSED | raw[off + 32] << 1;
      this.offsets[b][s] = raw.readUInt32LE(off + 34);
      this.lengths[b][s] = raw.readUInt32LE(off + 38);
      this.raws[b][s] = raw.readUInt32LE(off + 42);
      this.insert(e, present);
    }
  }
  /** Entry number of the blob `id` (32 bytes at `off` of `buf`), or -1. */
  find(buf, off = 0) {
    const w0 = word(buf, off);
    let i = w0 & this.slotMask;
    for (; ; ) {
      const v = this.slots[2 * i];
      if (v === 0)
        return -1;
      if (this.slots[2 * i + 1] !== w0) {
        i = i + 1 & this.slotMask;
        continue;
      }
      const e = v - 1;
      const w = this.words[e >>> BLOCK_BITS];
      const s = (e & MASK) * 8;
      if (w[s] === w0) {
        let k = 1;
        while (k < 8 && w[s + k] === word(buf, off + 4 * k))
          k++;
        if (k === 8)
          return e;
      }
      i = i + 1 & this.slotMask;
    }
  }
  /** Pack number of entry `e`. */
  pack(e) {
    return this.packOf[e >>> BLOCK_BITS][e & MASK];
  }
  offset(e) {
    return this.offsets[e >>> BLOCK_BITS][e & MASK];
  }
  length(e) {
    return this.lengths[e >>> BLOCK_BITS][e & MASK];
  }
  rawLength(e) {
    return this.raws[e >>> BLOCK_BITS][e & MASK];
  }
  compressed(e) {
    return (this.flags[e >>> BLOCK_BITS][e & MASK] & FLAG_COMPRESSED) !== 0;
  }
  type(e) {
    return blobTypeOf(this.flags[e >>> BLOCK_BITS][e & MASK] >>> 1);
  }
  /** A copy of the id of entry `e`. */
  id(e) {
    const s = (e & MASK) * ID_BYTES;
    return Buffer.from(this.ids[e >>> BLOCK_BITS].subarray(s, s + ID_BYTES));
  }
  idHex(e) {
    const s = (e & MASK) * ID_BYTES;
    return this.ids[e >>> BLOCK_BITS].toString("hex", s, s + ID_BYTES);
  }
  /** Writes entry `e` in the pack/index entry encoding (ENTRY_BYTES) at `off` of `out`. */
  writeEntry(e, out, off) {
    const b = e >>> BLOCK_BITS;
    const s = e & MASK;
    this.ids[b].copy(out, off, s * ID_BYTES, s * ID_BYTES + ID_BYTES);
    const f = this.flags[b];
    out[off + 32] = f[s] >>> 1;
    out[off + 33] = f[s] & FLAG_COMPRESSED;
    out.writeUInt32LE(this.offsets[b][s], off + 34);
    out.writeUInt32LE(this.lengths[b][s], off + 38);
    out.writeUInt32LE(this.raws[b][s], off + 42);
  }
  /** Raw entries (ENTRY_BYTES each) of entries `list`. */
  encodeEntries(list) {
    const out = Buffer.allocUnsafe(list.length * ENTRY_BYTES);
    for (let i = 0; i < list.length; i++)
      this.writeEntry(list[i], out, i * ENTRY_BYTES);
    return out;
  }
  /** Marks entry `e` (bit 1 of its mark byte); returns true when it was not marked before. */
  mark(e) {
    const m = this.marks[e >>> BLOCK_BITS];
    const s = e & MASK;
    if (m[s] & 1)
      return false;
    m[s] |= 1;
    return true;
  }
  marked(e) {
    return (this.marks[e >>> BLOCK_BITS][e & MASK] & 1) !== 0;
  }
  /** Sets another bit (2, 4, ... 128) of entry `e`'s mark byte (check uses one for "damaged"). */
  setFlag(e, bit) {
    this.marks[e >>> BLOCK_BITS][e & MASK] |= bit;
  }
  hasFlag(e, bit) {
    return (this.marks[e >>> BLOCK_BITS][e & MASK] & bit) !== 0;
  }
  /** The pack numbered `no`. */
  packAt(no) {
    return this.packs[no];
  }
  packNo(id) {
    return this.packNos.get(id);
  }
  /** Approximate bytes held (for reports). */
  get memoryBytes() {
    return this.ids.length * BLOCK2 * (ID_BYTES + 4 * 4 + 2) + this.slots.byteLength;
  }
  grow() {
    const ids = Buffer.alloc(BLOCK2 * ID_BYTES);
    this.ids.push(ids);
    this.words.push(new Uint32Array(ids.buffer, ids.byteOffset, BLOCK2 * ID_BYTES / 4));
    this.packOf.push(new Uint32Array(BLOCK2));
    this.offsets.push(new Uint32Array(BLOCK2));
    this.lengths.push(new Uint32Array(BLOCK2));
    this.raws.push(new Uint32Array(BLOCK2));
    this.flags.push(new Uint8Array(BLOCK2));
    this.marks.push(new Uint8Array(BLOCK2));
  }
  /** True when entries e and f have the same id. */
  sameId(e, f) {
    const we = this.words[e >>> BLOCK_BITS];
    const wf = this.words[f >>> BLOCK_BITS];
    const se = (e & MASK) * 8;
    const sf = (f & MASK) * 8;
    for (let k = 0; k < 8; k++)
      if (we[se + k] !== wf[sf + k])
        return false;
    return true;
  }
  insert(e, present) {
    if (this.used + 1 > this.capacity * MAX_LOAD)
      this.rehash();
    const w0 = this.words[e >>> BLOCK_BITS][(e & MASK) * 8];
    let i = w0 & this.slotMask;
    for (; ; ) {
      const v = this.slots[2 * i];
      if (v === 0) {
        this.slots[2 * i] = e + 1;
        this.slots[2 * i + 1] = w0;
        this.used++;
        return;
      }
      if (this.slots[2 * i + 1] === w0 && this.sameId(v - 1, e)) {
        this.duplicates++;
        if (present && this.sizes && !this.sizes.has(this.packs[this.pack(v - 1)].id))
          this.slots[2 * i] = e + 1;
        return;
      }
      i = i + 1 & this.slotMask;
    }
  }
  rehash() {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.slotMask = this.capacity - 1;
    for (let j = 0; j < old.length; j += 2) {
      const v = old[j];
      if (v === 0)
        continue;
      const w0 = old[j + 1];
      let i = w0 & this.slotMask;
      while (this.slots[2 * i] !== 0)
        i = i + 1 & this.slotMask;
      this.slots[2 * i] = v;
      this.slots[2 * i + 1] = w0;
    }
  }
};

// packages/core/dist/forget/calendar.js
var formatters = /* @__PURE__ */ new Map();
function systemTimeZone() {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}
function formatter(timeZone) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric"
    });
    formatters.set(timeZone, f);
  }
  return f;
}
function localTime(t, timeZone) {
  const parts = {};
  for (const p of formatter(timeZone).formatToParts(new Date(t)))
    if (p.type !== "literal")
      parts[p.type] = Number(p.value);
  const ms = (t % 1e3 + 1e3) % 1e3;
  const year = parts.year;
  const month = parts.month;
  const day = parts.day;
  const hour = parts.hour % 24;
  const minute = parts.minute;
  const second = parts.second;
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return { year, month, day, hour, minute, second, ms, offset: Math.round((asUtc - t) / 6e4) };
}
function fromLocal(f, timeZone) {
  const asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, f.ms);
  let t = asUtc - localTime(asUtc, timeZone).offset * 6e4;
  const off2 = localTime(t, timeZone).offset;
  t = asUtc - off2 * 6e4;
  return t;
}
function daysInMonth(year, month) {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
function isoWeek(year, month, day) {
  const d = new Date(Date.UTC(year, month - 1, day));
  const dow = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - dow + 3);
  const wy = d.getUTCFullYear();
  const week = Math.ceil(((d.getTime() - Date.UTC(wy, 0, 1)) / 864e5 + 1) / 7);
  return { year: wy, week };
}
function subtractDuration(t, d, timeZone) {
  const l = localTime(t, timeZone);
  const months = l.year * 12 + (l.month - 1) - d.years * 12 - d.months;
  const year = Math.floor(months / 12);
  const month = months - year * 12 + 1;
  const day = Math.min(l.day, daysInMonth(year, month));
  const date = new Date(Date.UTC(year, month - 1, day - d.days));
  const back = fromLocal({ year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: l.hour, minute: l.minute, second: l.second, ms: l.ms }, timeZone);
  return back - d.hours * 36e5;
}
function parseCalendarDuration(s) {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(s.trim());
  if (!m || s.trim() === "")
    return void 0;
  const n = (i) => Number(m[i] ?? 0);
  return { years: n(1), months: n(2), days: n(3) * 7 + n(4), hours: n(5) };
}
function formatCalendarDuration(d) {
  const s = `${d.years ? `${d.years}y` : ""}${d.months ? `${d.months}m` : ""}${d.days ? `${d.days}d` : ""}${d.hours ? `${d.hours}h` : ""}`;
  return s || "0h";
}

// packages/core/dist/forget/policy.js
var BUCKETED = ["hourly", "daily", "weekly", "monthly", "yearly"];
function policyIsEmpty(p) {
  const counts = [p.last, p.hourly, p.daily, p.weekly, p.monthly, p.yearly];
  return counts.every((c) => c === void 0 || c === 0) && p.within === void 0 && (p.tags === void 0 || p.tags.length === 0);
}
function applyPolicy(snapshots, policy, opts = {}) {
  const tz = opts.timeZone ?? systemTimeZone();
  const groupBy = opts.groupBy ?? ["name"];
  const groups = /* @__PURE__ */ new Map();
  for (const s of snapshots) {
    const key = {};
    for (const g of groupBy)
      key[g] = g === "name" ? s.name : s.hostname;
    const k = JSON.stringify(groupBy.map((g) => key[g]));
    let grp = groups.get(k);
    if (!grp)
      groups.set(k, grp = { key, snaps: [] });
    grp.snaps.push(s);
  }
  return [...groups.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, g]) => ({ key: g.key, decisions: decideGroup(g.snaps, policy, tz) }));
}
function decideGroup(snaps, policy, tz) {
  const items = snaps.map((s) => ({ s, t: Date.parse(s.time) })).sort((a, b) => {
    const ta = Number.isNaN(a.t) ? Infinity : a.t;
    const tb = Number.isNaN(b.t) ? Infinity : b.t;
    if (ta !== tb)
      return tb - ta;
    return a.s.id < b.s.id ? 1 : a.s.id > b.s.id ? -1 : 0;
  });
  const reasons = items.map(() => []);
  const limit = (n) => n === void 0 ? 0 : n < 0 ? Infinity : n;
  let left = limit(policy.last);
  items.forEach((it, i) => {
    if (left > 0 && !Number.isNaN(it.t)) {
      reasons[i].push("last");
      left--;
    }
  });
  for (const rule of BUCKETED) {
    let n = limit(policy[rule]);
    if (n === 0)
      continue;
    let lastKey;
    items.forEach((it, i) => {
      if (n === 0 || Number.isNaN(it.t))
        return;
      const key = bucketKey(rule, it.t, tz);
      if (key === lastKey)
        return;
      lastKey = key;
      reasons[i].push(`${rule} ${key}`);
      n--;
    });
  }
  if (policy.within) {
    const newest = items.find((it) => !Number.isNaN(it.t));
    if (newest) {
      const cutoff = subtractDuration(newest.t, policy.within, tz);
      const label = `within ${formatCalendarDuration(policy.within)}`;
      items.forEach((it, i) => {
        if (!Number.isNaN(it.t) && it.t > cutoff)
          reasons[i].push(label);
      });
    }
  }
  if (policy.tags?.length) {
    items.forEach((it, i) => {
      for (const tag of policy.tags)
        if (it.s.tags.includes(tag))
          reasons[i].push(`tag ${tag}`);
    });
  }
  return items.map((it, i) => {
    if (Number.isNaN(it.t))
      reasons[i].push("time unreadable");
    return { snapshot: it.s, keep: reasons[i].length > 0, reasons: reasons[i] };
  });
}
function bucketKey(rule, t, tz) {
  const l = localTime(t, tz);
  const p2 = (n) => String(n).padStart(2, "0");
  switch (rule) {
    case "hourly": {
      const o = Math.abs(l.offset);
      return `${l.year}-${p2(l.month)}-${p2(l.day)} ${p2(l.hour)}h${l.offset < 0 ? "-" : "+"}${p2(Math.floor(o / 60))}:${p2(o % 60)}`;
    }
    case "daily":
      return `${l.year}-${p2(l.month)}-${p2(l.day)}`;
    case "weekly": {
      const w = isoWeek(l.year, l.month, l.day);
      return `${w.year}-W${p2(w.week)}`;
    }
    case "monthly":
      return `${l.year}-${p2(l.month)}`;
    case "yearly":
      return `${l.year}`;
  }
}

// packages/core/dist/forget/forget.js
async function forget(repo, opts) {
  const byId = opts.ids !== void 0 && opts.ids.length > 0;
  const byPolicy = opts.policy !== void 0 && !policyIsEmpty(opts.policy);
  if (byId && byPolicy)
    throw new StowageError("INVALID_ARGUMENT", "give snapshot ids or a --keep-* policy, not both");
  if (!byId && !byPolicy)
    throw new StowageError("INVALID_ARGUMENT", "nothing to forget: give snapshot ids or at least one --keep-* rule (a policy keeping nothing is refused)");
  const lock = opts.dryRun ? void 0 : await lockRepository(repo, "shared");
  try {
    let groups = [];
    let remove;
    let kept = 0;
    if (byId) {
      const ids = /* @__PURE__ */ new Set();
      for (const ref of opts.ids)
        ids.add(await resolveSnapshot(repo, ref));
      remove = [...ids];
      kept = (await repo.listNames("snapshot")).length - remove.length;
    } else {
      groups = applyPolicy(await listSnapshots(repo), opts.policy, {
        ...opts.groupBy && { groupBy: opts.groupBy },
        ...opts.timeZone && { timeZone: opts.timeZone }
      });
      remove = groups.flatMap((g) => g.decisions.filter((d) => !d.keep).map((d) => d.snapshot.id));
      kept = groups.reduce((n, g) => n + g.decisions.filter((d) => d.keep).length, 0);
    }
    if (!opts.dryRun) {
      for (const id of remove) {
        try {
          await repo.backend.remove({ type: "snapshot", name: id });
        } catch (err) {
          if (!isStowageError(err, "NOT_FOUND"))
            throw err;
        }
      }
    }
    return { groups, removed: remove, kept, dryRun: opts.dryRun ?? false };
  } finally {
    await lock?.release();
  }
}

// packages/core/dist/gc/roots.js
function snapshotRoots(m) {
  return m.content.lists;
}

// packages/core/dist/gc/plan.js
var DEFAULT_MAX_UNUSED = { percent: 5 };
function parseMaxUnused(s) {
  const v = s.trim().toLowerCase();
  if (v === "unlimited")
    return "unlimited";
  let m = /^(\d+(?:\.\d+)?)%$/.exec(v);
  if (m) {
    const p = Number(m[1]);
    if (p > 100)
      throw new StowageError("INVALID_ARGUMENT", `--max-unused ${s}: a percentage must be 0..100`);
    return p === 100 ? "unlimited" : { percent: p };
  }
  m = /^(\d+)\s*(b|k|kib|m|mib|g|gib|t|tib)?$/.exec(v);
  if (m) {
    const mult = { b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4 };
    return { bytes: Number(m[1]) * (m[2] ? mult[m[2]] : 1) };
  }
  throw new StowageError("INVALID_ARGUMENT", `invalid --max-unused "${s}" (examples: 5%, 0, 200M, unlimited)`);
}
function formatMaxUnused(m) {
  return m === "unlimited" ? "unlimited" : "percent" in m ? `${m.percent}%` : `${m.bytes} bytes`;
}
function maxUnusedBytes(m, used) {
  if (m === "unlimited")
    return Infinity;
  if ("bytes" in m)
    return m.bytes;
  return Math.floor(m.percent / (100 - m.percent) * used);
}
function classifyPacks(packs, maxUnused) {
  const action = /* @__PURE__ */ new Map();
  const partial = [];
  let used = 0;
  let unusedLeft = 0;
  for (const p of packs) {
    used += p.usedBytes;
    if (p.usedBlobs === 0)
      action.set(p.id, "delete");
    else if (p.usedBlobs === p.blobs)
      action.set(p.id, "keep");
    else {
      partial.push(p);
      unusedLeft += p.unusedBytes;
    }
  }
  const allowed = maxUnusedBytes(maxUnused, used);
  partial.sort((a, b) => {
    const fa = a.unusedBytes / Math.max(1, a.usedBytes + a.unusedBytes);
    const fb = b.unusedBytes / Math.max(1, b.usedBytes + b.unusedBytes);
    if (fa !== fb)
      return fb - fa;
    if (a.unusedBytes !== b.unusedBytes)
      return b.unusedBytes - a.unusedBytes;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  for (const p of partial) {
    if (unusedLeft > allowed) {
      action.set(p.id, "repack");
      unusedLeft -= p.unusedBytes;
    } else
      action.set(p.id, "keep");
  }
  return packs.map((p) => ({ ...p, action: action.get(p.id) }));
}
async function planGc(repo, opts = {}) {
  const maxUnused = opts.maxUnused ?? DEFAULT_MAX_UNUSED;
  const packSizes = /* @__PURE__ */ new Map();
  for await (const f of repo.backend.list("pack"))
    packSizes.set(f.name, f.size);
  const snaps = await listSnapshots(repo).catch((err) => {
    throw refuse(`a snapshot file cannot be read: ${err.message}`, err);
  });
  const table2 = await IndexTable.load(repo, { packSizes });
  opts.signal?.throwIfAborted();
  const missing = /* @__PURE__ */ new Map();
  let done = 0;
  for (const s of snaps) {
    for (const hex of snapshotRoots(s)) {
      const id = Buffer.from(hex, "hex");
      const e = table2.find(id);
      if (e < 0) {
        if (!missing.has(hex))
          missing.set(hex, s.id);
        continue;
      }
      if (!table2.mark(e))
        continue;
      const pack = table2.packAt(table2.pack(e));
      let plain;
      try {
        const stored = await repo.readPackRange(pack.id, table2.offset(e), table2.length(e));
        plain = repo.codec.decode(stored, [{ offset: 0, length: table2.length(e), rawLength: table2.rawLength(e), compressed: table2.compressed(e), id }], `pack ${pack.id}`).plain;
      } catch (err) {
        throw refuse(`chunk list ${hex} of snapshot ${s.id} cannot be read: ${err.message}`, err);
      }
      let refs;
      try {
        refs = decodeChunkList(plain, `chunk list ${hex}`);
      } catch (err) {
        throw refuse(`chunk list ${hex} of snapshot ${s.id} is malformed: ${err.message}`, err);
      }
      for (const r of refs) {
        const c = table2.find(r.id);
        if (c >= 0)
          table2.mark(c);
        else if (missing.size < 1e3) {
          const h = r.id.toString("hex");
          if (!missing.has(h))
            missing.set(h, s.id);
        }
      }
      opts.signal?.throwIfAborted();
    }
    opts.progress?.({ op: "gc", done: ++done, total: snaps.length });
  }
  if (missing.size > 0) {
    const ex = [...missing].slice(0, 3).map(([b, s]) => `${b.slice(0, 16)}\u2026 (snapshot ${s.slice(0, 8)})`).join(", ");
    throw refuse(`${missing.size >= 1e3 ? "at least 1000" : missing.size} blob(s) referenced by snapshots are not in the index, e.g. ${ex}; run "stowage check", and "stowage repair index" if their packs still exist`);
  }
  const stats = [];
  const missingPacks = [];
  let usedBlobs = 0;
  for (const p of table2.packs) {
    let used = 0;
    let usedBytes2 = 0;
    let unusedBytes2 = 0;
    for (let e = p.first; e < p.first + p.count; e++) {
      if (table2.marked(e)) {
        used++;
        usedBytes2 += table2.length(e);
      } else
        unusedBytes2 += table2.length(e);
    }
    usedBlobs += used;
    if (p.size === void 0) {
      if (used > 0)
        throw refuse(`pack ${p.id} is missing but holds ${used} blob(s) that snapshots use; run "stowage check"`);
      missingPacks.push(p.id);
      continue;
    }
    stats.push({ id: p.id, size: p.size, blobs: p.count, usedBlobs: used, usedBytes: usedBytes2, unusedBytes: unusedBytes2 });
  }
  const packs = classifyPacks(stats, maxUnused);
  const unindexedPacks = [...packSizes].filter(([id]) => table2.packNo(id) === void 0).map(([id, size]) => ({ id, size }));
  let packBytes = 0;
  let usedBytes = 0;
  let unusedBytes = 0;
  let deleteBytes = 0;
  let repackBytes = 0;
  let repackUsedBytes = 0;
  let unusedAfter = 0;
  for (const p of packs) {
    packBytes += p.size;
    usedBytes += p.usedBytes;
    unusedBytes += p.unusedBytes;
    if (p.action === "delete")
      deleteBytes += p.size;
    else if (p.action === "repack") {
      repackBytes += p.size;
      repackUsedBytes += p.usedBytes;
    } else
      unusedAfter += p.unusedBytes;
  }
  for (const u of unindexedPacks) {
    packBytes += u.size;
    deleteBytes += u.size;
  }
  const rewriteIndex = missingPacks.length > 0 || packs.some((p) => p.action !== "keep");
  const plan = {
    snapshots: snaps.length,
    maxUnused,
    indexFiles: table2.indexFiles,
    packs,
    unindexedPacks,
    missingPacks,
    rewriteIndex,
    stats: {
      blobs: table2.count,
      usedBlobs,
      duplicateBlobs: table2.duplicates,
      packs: packs.length + unindexedPacks.length,
      packBytes,
      usedBytes,
      unusedBytes,
      deleteBytes,
      repackBytes,
      repackUsedBytes,
      freeBytes: deleteBytes + repackBytes - repackUsedBytes,
      unusedAfter
    }
  };
  return Object.defineProperty(plan, "table", { value: table2, enumerable: false });
}
function refuse(why, cause) {
  return corrupt(`gc refuses to run: ${why}. Nothing was deleted.`, cause);
}

// packages/core/dist/gc/execute.js
var ENTRIES_PER_INDEX_FILE2 = 2e5;
async function executeGc(repo, plan, opts = {}) {
  const { table: table2 } = plan;
  const builder = new IndexFileBuilder();
  const newIndexFiles = /* @__PURE__ */ new Set();
  const newPacks = /* @__PURE__ */ new Set();
  let bytesWritten = 0;
  let blobsRepacked = 0;
  const saveIndex = async (force) => {
    if (builder.empty || !force && builder.entries < ENTRIES_PER_INDEX_FILE2)
      return;
    const plain = builder.take();
    const name = await repo.saveFile("index", plain);
    newIndexFiles.add(name);
    bytesWritten += (await repo.backend.stat({ type: "index", name })).size;
  };
  const uploadPack = async (pack) => {
    const b = repo.backend;
    try {
      await b.save({ type: "pack", name: pack.id }, pack.bytes);
    } catch (err) {
      if (!isStowageError(err, "ALREADY_EXISTS"))
        throw err;
      if (blake3Hex(await b.load({ type: "pack", name: pack.id })) !== pack.id) {
        throw new StowageError("CORRUPT", `pack ${pack.id} exists in the repository but its content does not match its name`);
      }
    }
    const tail = await readPackTrailer(b, pack.id, repo.cipher, pack.bytes.length);
    if (tail.entries.length !== pack.entries.length || tail.entries.some((e, i) => !e.id.equals(pack.entries[i].id))) {
      throw new StowageError("BACKEND", `pack ${pack.id}: trailer read back from ${b.info.location} differs from what was written`);
    }
    const raw = Buffer.allocUnsafe(pack.entries.length * ENTRY_BYTES);
    pack.entries.forEach((e, i) => writeEntry(raw, i * ENTRY_BYTES, e));
    builder.addPack(pack.id, raw, pack.entries.length);
    newPacks.add(pack.id);
    bytesWritten += pack.bytes.length;
    await saveIndex(false);
  };
  let writer = new PackWriter(repo.cipher);
  const repack = plan.packs.filter((p) => p.action === "repack");
  let done = 0;
  for (const p of repack) {
    opts.signal?.throwIfAborted();
    const tp = table2.packAt(table2.packNo(p.id));
    const data = await repo.readPackRange(p.id, 0, p.size);
    for (let e = tp.first; e < tp.first + tp.count; e++) {
      if (!table2.marked(e))
        continue;
      const off = table2.offset(e);
      const len = table2.length(e);
      const id = table2.id(e);
      const stored = Buffer.from(data.subarray(off, off + len));
      try {
        repo.codec.decode(stored, [{ offset: 0, length: len, rawLength: table2.rawLength(e), compressed: table2.compressed(e), id }], `pack ${p.id}`);
      } catch (err) {
        if (isStowageError(err, "CORRUPT"))
          throw new StowageError("CORRUPT", `gc stopped before deleting anything: ${err.message}; run "stowage check --read-data"`, { cause: err });
        throw err;
      }
      if (writer.count > 0 && writer.size + len + ENTRY_BYTES > repo.config.packSize) {
        await uploadPack(writer.finalize());
        writer = new PackWriter(repo.cipher);
      }
      writer.add(id, table2.type(e), stored, table2.rawLength(e), table2.compressed(e));
      blobsRepacked++;
    }
    opts.progress?.({ op: "gc", done: ++done, total: repack.length });
  }
  if (writer.count > 0)
    await uploadPack(writer.finalize());
  if (plan.rewriteIndex) {
    for (const p of plan.packs) {
      if (p.action !== "keep")
        continue;
      const tp = table2.packAt(table2.packNo(p.id));
      const raw = Buffer.allocUnsafe(tp.count * ENTRY_BYTES);
      for (let i = 0; i < tp.count; i++)
        table2.writeEntry(tp.first + i, raw, i * ENTRY_BYTES);
      builder.addPack(p.id, raw, tp.count);
      await saveIndex(false);
    }
  }
  await saveIndex(true);
  opts.signal?.throwIfAborted();
  await opts.lock?.verify();
  let bytesRemoved = 0;
  let indexFilesRemoved = 0;
  if (plan.rewriteIndex) {
    for (const name of plan.indexFiles) {
      if (newIndexFiles.has(name))
        continue;
      bytesRemoved += await removeCounting(repo, "index", name);
      indexFilesRemoved++;
    }
  }
  const doomed = [
    ...plan.packs.filter((p) => p.action !== "keep").map((p) => p.id),
    ...plan.unindexedPacks.map((p) => p.id)
  ].filter((id) => !newPacks.has(id));
  let packsDeleted = 0;
  for (const id of doomed) {
    bytesRemoved += await removeCounting(repo, "pack", id);
    packsDeleted++;
  }
  const tempFilesRemoved = await repo.backend.removeTemporary?.(["pack", "index", "snapshot"]) ?? 0;
  const staleLocksRemoved = (await removeLocks(repo)).length;
  await repo.refreshIndex();
  return {
    packsDeleted,
    packsWritten: newPacks.size,
    blobsRepacked,
    indexFilesWritten: newIndexFiles.size,
    indexFilesRemoved,
    bytesRemoved,
    bytesWritten,
    bytesFreed: bytesRemoved - bytesWritten,
    tempFilesRemoved,
    staleLocksRemoved
  };
}
async function removeCounting(repo, type, name) {
  try {
    const { size } = await repo.backend.stat({ type, name });
    await repo.backend.remove({ type, name });
    return size;
  } catch (err) {
    if (isStowageError(err, "NOT_FOUND"))
      return 0;
    throw err;
  }
}

// packages/core/dist/gc/gc.js
async function gc(repo, opts = {}) {
  const t0 = performance.now();
  const lock = await lockRepository(repo, opts.dryRun ? "shared" : "exclusive", opts.signal ? { signal: opts.signal } : {});
  try {
    const common = { ...opts.progress && { progress: opts.progress }, ...opts.signal && { signal: opts.signal } };
    const plan = await planGc(repo, { ...common, ...opts.maxUnused && { maxUnused: opts.maxUnused } });
    if (opts.dryRun)
      return { plan, seconds: (performance.now() - t0) / 1e3 };
    const result = await executeGc(repo, plan, { ...common, lock });
    return { plan, result, seconds: (performance.now() - t0) / 1e3 };
  } finally {
    await lock.release();
  }
}

// packages/core/dist/check/check.js
var MAX_DETAILED = 100;
var DAMAGED = 2;
function parseReadDataSubset(s) {
  const v = s.trim();
  let m = /^(\d+)\/(\d+)$/.exec(v);
  if (m) {
    const n = Number(m[1]);
    const total = Number(m[2]);
    if (total < 1 || n < 1 || n > total)
      throw new StowageError("INVALID_ARGUMENT", `--read-data-subset ${s}: need 1 <= n <= m`);
    return { n, m: total };
  }
  m = /^(\d+(?:\.\d+)?)%$/.exec(v);
  if (m) {
    const p = Number(m[1]);
    if (p <= 0 || p > 100)
      throw new StowageError("INVALID_ARGUMENT", `--read-data-subset ${s}: the percentage must be in (0, 100]`);
    return { percent: p };
  }
  throw new StowageError("INVALID_ARGUMENT", `invalid --read-data-subset "${s}" (examples: 1/5, 10%)`);
}
function inSubset(id, subset, random = Math.random) {
  if (!subset)
    return true;
  if ("percent" in subset)
    return random() * 100 < subset.percent;
  return parseInt(id.slice(0, 8), 16) % subset.m === subset.n - 1;
}
async function check(repo, opts = {}) {
  const t0 = performance.now();
  const lock = opts.lock === false ? void 0 : await lockRepository(repo, "shared", opts.signal ? { signal: opts.signal } : {});
  try {
    return await run(repo, opts, t0);
  } finally {
    await lock?.release();
  }
}
async function run(repo, opts, t0) {
  const findings = [];
  const counts = /* @__PURE__ */ new Map();
  const overflow = /* @__PURE__ */ new Map();
  let errors = 0;
  const add = (f) => {
    if (f.severity === "error")
      errors++;
    const n = (counts.get(f.kind) ?? 0) + 1;
    counts.set(f.kind, n);
    if (n <= MAX_DETAILED) {
      findings.push(f);
      return f;
    }
    let o = overflow.get(f.kind);
    if (!o) {
      o = { severity: f.severity, kind: f.kind, message: "", snapshots: [] };
      overflow.set(f.kind, o);
      findings.push(o);
    }
    o.message = `${n - MAX_DETAILED} more ${f.kind} findings like the ones above`;
    return o;
  };
  const addSnapshots = (f, ids) => {
    const set = new Set(f.snapshots ?? []);
    for (const id of ids)
      set.add(id);
    f.snapshots = [...set].sort();
  };
  const snaps = [];
  const snapNames = await repo.listNames("snapshot");
  for (const name of snapNames) {
    try {
      snaps.push(await loadSnapshot(repo, name));
    } catch (err) {
      if (!isStowageError(err))
        throw err;
      add({ severity: "error", kind: "snapshot-unreadable", snapshot: name, message: `snapshot ${name}: ${err.message}`, snapshots: [name] });
    }
  }
  const table2 = await IndexTable.load(repo, {
    onError: (name, err) => add({ severity: "error", kind: "index-unreadable", indexFile: name, message: `index file ${name}: ${err.message}` })
  });
  const sizes = /* @__PURE__ */ new Map();
  for await (const f of repo.backend.list("pack"))
    sizes.set(f.name, f.size);
  table2.setPackSizes(sizes);
  opts.signal?.throwIfAborted();
  const missing = /* @__PURE__ */ new Map();
  const badLists = /* @__PURE__ */ new Map();
  const listFindings = /* @__PURE__ */ new Map();
  let done = 0;
  for (const s of snaps) {
    for (const hex of snapshotRoots(s)) {
      const id = Buffer.from(hex, "hex");
      const e = table2.find(id);
      if (e < 0) {
        let f = missing.get(hex);
        if (!f)
          missing.set(hex, f = add({ severity: "error", kind: "blob-missing", blob: hex, message: `chunk list blob ${hex} is not in the index` }));
        addSnapshots(f, [s.id]);
        continue;
      }
      const bad = badLists.get(hex);
      if (bad) {
        addSnapshots(bad, [s.id]);
        continue;
      }
      if (!table2.mark(e)) {
        for (const f of listFindings.get(hex) ?? [])
          addSnapshots(f, [s.id]);
        continue;
      }
      const found = [];
      const pack = table2.packAt(table2.pack(e)).id;
      let refs;
      try {
        const stored = await repo.readPackRange(pack, table2.offset(e), table2.length(e));
        const plain = repo.codec.decode(stored, [{ offset: 0, length: table2.length(e), rawLength: table2.rawLength(e), compressed: table2.compressed(e), id }], `pack ${pack}`).plain;
        refs = decodeChunkList(plain, `chunk list ${hex}`);
      } catch (err) {
        if (!isStowageError(err))
          throw err;
        const f = add({ severity: "error", kind: "list-unreadable", blob: hex, pack, message: `chunk list blob ${hex} in pack ${pack}: ${err.message}` });
        badLists.set(hex, f);
        addSnapshots(f, [s.id]);
        continue;
      }
      for (const r of refs) {
        const c = table2.find(r.id);
        if (c < 0) {
          const h = r.id.toString("hex");
          let f = missing.get(h);
          if (!f) {
            f = add({ severity: "error", kind: "blob-missing", blob: h, message: `blob ${h} is not in the index` });
            if (missing.size < 10 * MAX_DETAILED)
              missing.set(h, f);
          }
          addSnapshots(f, [s.id]);
          found.push(f);
          continue;
        }
        table2.mark(c);
        if (r.offset + r.length > table2.rawLength(c)) {
          const f = add({ severity: "error", kind: "blob-size-mismatch", blob: table2.idHex(c), pack: table2.packAt(table2.pack(c)).id, message: `blob ${table2.idHex(c)}: the chunk list takes bytes ${r.offset}..${r.offset + r.length}, but the index says it has ${table2.rawLength(c)}` });
          addSnapshots(f, [s.id]);
          found.push(f);
        }
      }
      if (found.length)
        listFindings.set(hex, [...new Set(found)]);
      opts.signal?.throwIfAborted();
    }
    opts.progress?.({ op: "check", done: ++done, total: snaps.length });
  }
  const packFindings = /* @__PURE__ */ new Map();
  const blobFindings = /* @__PURE__ */ new Map();
  const damagePack = (no, f) => {
    const tp = table2.packAt(no);
    for (let e = tp.first; e < tp.first + tp.count; e++)
      table2.setFlag(e, DAMAGED);
    let l = packFindings.get(no);
    if (!l)
      packFindings.set(no, l = []);
    l.push(f);
  };
  const trailerOk = /* @__PURE__ */ new Set();
  for (const p of table2.packs) {
    opts.signal?.throwIfAborted();
    if (p.size === void 0) {
      let used = 0;
      for (let e = p.first; e < p.first + p.count; e++)
        if (table2.marked(e))
          used++;
      const f = add({
        severity: used > 0 ? "error" : "info",
        kind: "pack-missing",
        pack: p.id,
        message: used > 0 ? `pack ${p.id} is missing (${used} of its ${p.count} blobs are used)` : `pack ${p.id} is missing, but no snapshot uses its ${p.count} blobs (gc drops it from the index)`
      });
      if (used > 0)
        damagePack(p.no, f);
      continue;
    }
    try {
      const tail = await readPackTrailer(repo.backend, p.id, repo.cipher, p.size);
      const why = compareTrailer(table2, p.first, p.count, tail.entries);
      if (why)
        throw new StowageError("CORRUPT", `pack ${p.id}: trailer and index disagree: ${why}`);
      trailerOk.add(p.no);
    } catch (err) {
      if (!isStowageError(err, "CORRUPT", "NOT_FOUND"))
        throw err;
      damagePack(p.no, add({ severity: "error", kind: "pack-damaged", pack: p.id, size: p.size, message: err.message.startsWith(`pack ${p.id}`) ? err.message : `pack ${p.id}: ${err.message}` }));
    }
  }
  for (const [id, size] of sizes) {
    if (table2.packNo(id) === void 0)
      add({ severity: "info", kind: "pack-unreferenced", pack: id, size, message: `pack ${id} (${size} bytes) is not in any index (left by an interrupted run; gc deletes it)` });
  }
  let packsRead = 0;
  let blobsRead = 0;
  let bytesRead = 0;
  if (opts.readData || opts.readDataSubset) {
    const selected = table2.packs.filter((p) => p.size !== void 0 && inSubset(p.id, opts.readDataSubset));
    for (const p of selected) {
      opts.signal?.throwIfAborted();
      let data;
      try {
        data = await repo.readPackRange(p.id, 0, p.size);
      } catch (err) {
        if (!isStowageError(err, "CORRUPT", "NOT_FOUND"))
          throw err;
        damagePack(p.no, add({ severity: "error", kind: "pack-damaged", pack: p.id, message: `pack ${p.id}: ${err.message}` }));
        continue;
      }
      packsRead++;
      bytesRead += data.length;
      let bad = 0;
      for (let e = p.first; e < p.first + p.count; e++) {
        const off = table2.offset(e);
        const len = table2.length(e);
        blobsRead++;
        try {
          if (off + len > data.length)
            throw new StowageError("CORRUPT", `stored bytes lie beyond the end of the pack`);
          repo.codec.decode(data.subarray(off, off + len), [{ offset: 0, length: len, rawLength: table2.rawLength(e), compressed: table2.compressed(e), id: table2.id(e) }], `pack ${p.id}`);
        } catch (err) {
          if (!isStowageError(err))
            throw err;
          bad++;
          table2.setFlag(e, DAMAGED);
          const msg = err.message.startsWith("blob ") ? err.message : `blob ${table2.idHex(e)} in pack ${p.id}: ${err.message}`;
          blobFindings.set(e, add({ severity: "error", kind: "blob-damaged", blob: table2.idHex(e), pack: p.id, message: msg }));
        }
      }
      if (bad === 0 && trailerOk.has(p.no) && blake3Hex(data) !== p.id) {
        damagePack(p.no, add({ severity: "error", kind: "pack-damaged", pack: p.id, message: `pack ${p.id}: content does not match its name (damage outside the blobs)` }));
      }
      opts.progress?.({ op: "check", done: packsRead, total: selected.length });
    }
  }
  for (const l of await listLocks(repo)) {
    if (l.stale)
      add({ severity: "info", kind: "lock-stale", message: `stale lock ${l.name.slice(0, 8)}: ${l.staleReason ?? ""} (remove with "stowage unlock")` });
    else if (!l.info)
      add({ severity: "info", kind: "lock-stale", message: `unreadable lock ${l.name.slice(0, 8)}: ${l.error ?? ""}` });
  }
  if (packFindings.size > 0 || blobFindings.size > 0) {
    for (const s of snaps) {
      const hit = /* @__PURE__ */ new Set();
      for (const hex of snapshotRoots(s)) {
        const e = table2.find(Buffer.from(hex, "hex"));
        if (e < 0)
          continue;
        collect(table2, e, packFindings, blobFindings, hit);
        if (badLists.has(hex))
          continue;
        let refs;
        try {
          const pack = table2.packAt(table2.pack(e)).id;
          const stored = await repo.readPackRange(pack, table2.offset(e), table2.length(e));
          const plain = repo.codec.decode(stored, [{ offset: 0, length: table2.length(e), rawLength: table2.rawLength(e), compressed: table2.compressed(e), id: Buffer.from(hex, "hex") }], `pack ${pack}`).plain;
          refs = decodeChunkList(plain, `chunk list ${hex}`);
        } catch {
          continue;
        }
        for (const r of refs) {
          const c = table2.find(r.id);
          if (c >= 0 && table2.hasFlag(c, DAMAGED))
            collect(table2, c, packFindings, blobFindings, hit);
        }
      }
      for (const f of hit)
        addSnapshots(f, [s.id]);
    }
  }
  return {
    findings,
    errors,
    snapshots: snapNames.length,
    indexFiles: table2.indexFiles.length,
    packs: sizes.size,
    blobs: table2.count,
    packsRead,
    blobsRead,
    bytesRead,
    seconds: (performance.now() - t0) / 1e3
  };
}
function collect(table2, e, packFindings, blobFindings, hit) {
  if (!table2.hasFlag(e, DAMAGED))
    return;
  const b = blobFindings.get(e);
  if (b)
    hit.add(b);
  for (const f of packFindings.get(table2.pack(e)) ?? [])
    hit.add(f);
}
function compareTrailer(table2, first, count, entries) {
  if (entries.length !== count)
    return `the trailer lists ${entries.length} blobs, the index ${count}`;
  for (let i = 0; i < count; i++) {
    const e = first + i;
    const t = entries[i];
    if (t.id.toString("hex") !== table2.idHex(e))
      return `entry ${i}: blob ${t.id.toString("hex")} vs ${table2.idHex(e)}`;
    if (t.offset !== table2.offset(e) || t.length !== table2.length(e) || t.rawLength !== table2.rawLength(e) || t.compressed !== table2.compressed(e) || blobTypeCode(t.type) !== blobTypeCode(table2.type(e))) {
      return `entry ${i} (blob ${table2.idHex(e)}): location or length differs`;
    }
  }
  return void 0;
}

// packages/core/dist/image/tar-list.js
var META_MAX = 1 << 20;
var TYPES = { "0": "file", "\0": "file", "7": "file", "1": "hardlink", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo", S: "file" };
var TarLister = class {
  onEntry;
  /** Set when the input stopped being a tar (or ended inside an entry). */
  problem;
  /** Entries reported so far. */
  count = 0;
  state = "header";
  block = new Uint8Array(BLOCK);
  fill = 0;
  pos = 0;
  left = 0;
  meta;
  longName;
  longLink;
  pax;
  global = /* @__PURE__ */ new Map();
  /** Data + padding to skip after a sparse header's extension blocks. */
  afterExt = 0;
  constructor(onEntry) {
    this.onEntry = onEntry;
  }
  push(piece) {
    let off = 0;
    while (off < piece.length && this.state !== "bad" && this.state !== "end") {
      const avail = piece.length - off;
      if (this.state === "skip") {
        const n2 = Math.min(avail, this.left);
        this.left -= n2;
        this.pos += n2;
        off += n2;
        if (this.left === 0)
          this.state = "header";
        continue;
      }
      if (this.state === "meta") {
        const m = this.meta;
        const n2 = Math.min(avail, this.left);
        m.parts.push(piece.slice(off, off + n2));
        this.left -= n2;
        this.pos += n2;
        off += n2;
        if (this.left === 0)
          this.onMeta();
        continue;
      }
      const n = Math.min(avail, BLOCK - this.fill);
      this.block.set(piece.subarray(off, off + n), this.fill);
      this.fill += n;
      this.pos += n;
      off += n;
      if (this.fill === BLOCK) {
        this.fill = 0;
        if (this.state === "header")
          this.onHeader();
        else
          this.onExtension();
      }
    }
  }
  /** Call after the last piece. */
  end() {
    if (this.state === "bad" || this.state === "end")
      return;
    if (this.state === "header" && this.fill === 0) {
      if (this.count === 0 && this.pos === 0)
        this.problem = "empty input";
      return;
    }
    this.problem = `the tar ends inside an entry (at byte ${this.pos})`;
  }
  bad(why) {
    this.state = "bad";
    this.problem = `${why} at byte ${this.pos - BLOCK}`;
  }
  onHeader() {
    const b = this.block;
    const at = this.pos - BLOCK;
    if (isZeroBlock(b)) {
      this.state = "end";
      return;
    }
    const chk = parseNumber(b, 148, 8);
    if (chk === void 0 || chk !== checksum(b))
      return this.bad("not a tar header (bad checksum)");
    const size = parseNumber(b, 124, 12);
    if (size === void 0)
      return this.bad("not a tar header (bad size field)");
    const type = String.fromCharCode(b[156]);
    const pad = (BLOCK - size % BLOCK) % BLOCK;
    if (["x", "g", "L", "K"].includes(type)) {
      if (size > META_MAX)
        return this.bad(`a ${type} record of ${size} bytes is too large`);
      this.meta = { type, parts: [], pad };
      this.left = size;
      this.state = "meta";
      if (size === 0)
        this.onMeta();
      return;
    }
    const posix = b[257] === 117 && b[258] === 115 && b[259] === 116 && b[260] === 97 && b[261] === 114 && b[262] === 0;
    let name = cstring2(b, 0, 100);
    if (posix && b[345] !== 0)
      name = `${cstring2(b, 345, 155)}/${name}`;
    let linkname = cstring2(b, 157, 100);
    const pax = this.pax;
    const g = this.global;
    name = this.longName ?? pax?.get("GNU.sparse.name") ?? pax?.get("path") ?? name;
    linkname = this.longLink ?? pax?.get("linkpath") ?? linkname;
    if (this.longName === void 0 && !pax?.has("path") && g.has("path"))
      name = g.get("path");
    const entryType = TYPES[type] ?? "other";
    const noData = ["1", "2", "3", "4", "5", "6"].includes(type);
    const paxSize = pax?.get("size") ?? g.get("size");
    const dataSize = noData ? 0 : paxSize !== void 0 && /^\d+$/.test(paxSize) ? Number(paxSize) : size;
    let fileSize = dataSize;
    const realSize = pax?.get("GNU.sparse.realsize") ?? pax?.get("GNU.sparse.size");
    if (realSize !== void 0 && /^\d+$/.test(realSize))
      fileSize = Number(realSize);
    if (type === "S")
      fileSize = parseNumber(b, 483, 12) ?? dataSize;
    if (entryType !== "file")
      fileSize = 0;
    if (!Number.isSafeInteger(dataSize))
      return this.bad("an entry size is out of range");
    this.longName = void 0;
    this.longLink = void 0;
    this.pax = void 0;
    this.count++;
    this.onEntry({
      path: name,
      type: entryType,
      size: fileSize,
      mode: parseNumber(b, 100, 8) ?? 0,
      uid: parseNumber(b, 108, 8) ?? 0,
      gid: parseNumber(b, 116, 8) ?? 0,
      mtime: parseNumber(b, 136, 12) ?? 0,
      ...(entryType === "symlink" || entryType === "hardlink") && { linkname },
      offset: at
    });
    const skip = dataSize + (BLOCK - dataSize % BLOCK) % BLOCK;
    if (type === "S" && b[482] !== 0) {
      this.afterExt = skip;
      this.state = "ext";
      return;
    }
    this.left = skip;
    this.state = skip > 0 ? "skip" : "header";
  }
  onExtension() {
    if (this.block[504] !== 0)
      return;
    this.left = this.afterExt;
    this.state = this.left > 0 ? "skip" : "header";
  }
  onMeta() {
    const m = this.meta;
    this.meta = void 0;
    const data = Buffer.concat(m.parts);
    if (m.type === "L")
      this.longName = cstring2(data, 0, data.length);
    else if (m.type === "K")
      this.longLink = cstring2(data, 0, data.length);
    else {
      const pax = parsePax(data);
      if (!pax)
        return this.bad("a malformed PAX record");
      if (m.type === "g")
        for (const [k, v] of pax)
          this.global.set(k, v);
      else
        this.pax = pax;
    }
    this.left = m.pad;
    this.state = m.pad > 0 ? "skip" : "header";
  }
};
function cstring2(b, off, len) {
  let end = off;
  while (end < off + len && b[end] !== 0)
    end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString("utf8");
}

// packages/core/dist/image/list-files.js
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { DecompressStream } from "zstd-napi";

// packages/core/dist/restore/range.js
import { createHash as createHash5, randomBytes as randomBytes6 } from "node:crypto";
import * as fs5 from "node:fs/promises";
import * as path7 from "node:path";
async function* readRange(repo, snap, offset, length, opts = {}) {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > snap.source.size) {
    throw new StowageError("INVALID_ARGUMENT", `range ${offset}+${length} is outside snapshot ${snap.id} (${snap.source.size} bytes)`);
  }
  if (length === 0)
    return;
  const pool = repo.codecs(length < 4 * 1024 * 1024 ? 0 : opts.workers);
  const ahead = opts.ahead ?? 2;
  const inFlight = [];
  let done = 0;
  try {
    for await (const window of rangeWindows(repo, snap, offset, length, opts.windowBytes ?? 16 * 1024 * 1024)) {
      opts.signal?.throwIfAborted();
      const p = buildWindow(repo, pool, window).then((w) => w.pieces);
      p.catch(() => void 0);
      inFlight.push(p);
      while (inFlight.length > ahead) {
        const pieces = await inFlight.shift();
        for (const x of pieces)
          done += x.length;
        opts.progress?.({ op: "restore", done, total: length });
        yield pieces;
      }
    }
    while (inFlight.length) {
      const pieces = await inFlight.shift();
      for (const x of pieces)
        done += x.length;
      opts.progress?.({ op: "restore", done, total: length });
      yield pieces;
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
  if (done !== length)
    throw corrupt(`snapshot ${snap.id}: the chunk lists hold ${done} of the ${length} bytes at ${offset}`);
}
async function* rangeWindows(repo, snap, offset, length, windowBytes) {
  const end = offset + length;
  let pos = 0;
  let cur = [];
  let size = 0;
  for await (const list of readChunkLists(repo, snap.content.lists)) {
    for (const r of list) {
      const rEnd = pos + r.length;
      if (rEnd > offset && pos < end) {
        const from = Math.max(offset, pos) - pos;
        const to = Math.min(end, rEnd) - pos;
        cur.push({ id: r.id, offset: r.offset + from, length: to - from });
        size += to - from;
        if (size >= windowBytes) {
          yield cur;
          cur = [];
          size = 0;
        }
      }
      pos = rEnd;
      if (pos >= end)
        break;
    }
    if (pos >= end)
      break;
  }
  if (cur.length)
    yield cur;
}
async function restoreRangeToStream(repo, snap, target, out, opts = {}) {
  return copyRange(repo, snap, target, opts, (pieces) => new Promise((resolve6, reject) => {
    if (pieces.length === 0)
      return resolve6();
    pieces.forEach((p, i) => out.write(p, i === pieces.length - 1 ? (err) => err ? reject(err) : resolve6() : void 0));
  }));
}
async function restoreRangeToFile(repo, snap, target, file, opts = {}) {
  const abs = path7.resolve(file);
  if (!opts.overwrite && await fs5.lstat(abs).then(() => true, () => false))
    throw new StowageError("TARGET_EXISTS", `target ${abs} exists (use --overwrite to replace it)`);
  const tmp = path7.join(path7.dirname(abs), `.${path7.basename(abs)}.stowage-${randomBytes6(6).toString("hex")}`);
  let fh;
  try {
    fh = await fs5.open(tmp, "wx", 420);
  } catch (err) {
    throw new StowageError("INVALID_ARGUMENT", `cannot write restore target ${abs}: ${err.message}`, { cause: err });
  }
  let done = false;
  try {
    let pos = 0;
    const result = await copyRange(repo, snap, target, opts, async (pieces) => {
      for (const p of pieces) {
        let off = 0;
        while (off < p.length) {
          const r = await fh.write(p, off, p.length - off, pos);
          off += r.bytesWritten;
          pos += r.bytesWritten;
        }
      }
    });
    await fh.close();
    if (opts.overwrite) {
      await fs5.rename(tmp, abs);
    } else {
      try {
        await fs5.link(tmp, abs);
      } catch (err) {
        if (err.code === "EEXIST")
          throw new StowageError("TARGET_EXISTS", `target ${abs} appeared during the restore; not replaced`);
        throw err;
      }
      await fs5.unlink(tmp);
    }
    done = true;
    return result;
  } finally {
    if (!done) {
      await fh.close().catch(() => void 0);
      await fs5.unlink(tmp).catch(() => void 0);
    }
  }
}
async function copyRange(repo, snap, target, opts, write) {
  const alg = target.digest?.startsWith("sha512:") ? "sha512" : "sha256";
  const hash = createHash5(alg);
  let bytes = 0;
  for await (const pieces of readRange(repo, snap, target.offset, target.length, opts)) {
    for (const p of pieces) {
      hash.update(p);
      bytes += p.length;
    }
    await write(pieces);
  }
  const digest = `${alg}:${hash.digest("hex")}`;
  if (target.digest && digest !== target.digest) {
    throw corrupt(`snapshot ${snap.id}: ${target.what}: the restored bytes have ${digest}, not the digest the archive states`);
  }
  return { bytes, digest, verified: target.digest !== void 0 };
}

// packages/core/dist/image/list-files.js
async function listFiles(repo, snap, range, onEntry, opts = {}) {
  const lister = new TarLister(onEntry);
  const source = readRange(repo, snap, range.offset, range.length, opts);
  const first = await source.next();
  if (first.done) {
    lister.end();
    return { entries: 0, ...lister.problem && { problem: lister.problem } };
  }
  const head = Buffer.concat(first.value.slice(0, 2)).subarray(0, 6);
  const compression = compressionOf(head);
  async function* pieces() {
    yield* first.value;
    for await (const run2 of source)
      yield* run2;
  }
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lister.push(chunk);
      cb();
    }
  });
  if (compression === "bzip2" || compression === "xz") {
    await source.return(void 0);
    return { entries: 0, compression, problem: `a ${compression}-compressed layer: its files cannot be listed` };
  }
  try {
    if (compression === "gzip")
      await pipeline(Readable.from(pieces()), createGunzip(), sink);
    else if (compression === "zstd")
      await pipeline(Readable.from(pieces()), new DecompressStream(), sink);
    else
      await pipeline(Readable.from(pieces()), sink);
  } catch (err) {
    if (isStowageError(err) || !compression)
      throw err;
    lister.end();
    return { entries: lister.count, compression, problem: `${compression} data is damaged: ${err.message}` };
  }
  lister.end();
  return { entries: lister.count, ...compression && { compression }, ...lister.problem && { problem: lister.problem } };
}

// packages/cli/dist/main.js
import { Command, CommanderError } from "commander";

// packages/cli/dist/exit-codes.js
var EXIT_OK = 0;
var EXIT_ERROR = 1;
var EXIT_WARNINGS = 3;
var EXIT_NO_REPOSITORY = 10;
var EXIT_LOCKED = 11;
var EXIT_WRONG_PASSWORD = 12;
var EXIT_INTERRUPTED = 130;
function exitCodeFor(code) {
  switch (code) {
    case "NO_REPOSITORY":
      return EXIT_NO_REPOSITORY;
    case "LOCKED":
      return EXIT_LOCKED;
    case "WRONG_PASSWORD":
      return EXIT_WRONG_PASSWORD;
    case "ABORTED":
      return EXIT_INTERRUPTED;
    default:
      return EXIT_ERROR;
  }
}

// packages/cli/dist/password.js
import { readFile as readFile2 } from "node:fs/promises";
var HOW = "give it in STOWAGE_PASSWORD, or in a file named by --password-file or STOWAGE_PASSWORD_FILE, or run in a terminal to be asked";
function env(name) {
  const v = process.env[name];
  return v === void 0 || v === "" ? void 0 : v;
}
function passwordSource(ctx) {
  let cached;
  return () => cached ??= (async () => {
    const given = await givenPassword(ctx.opts.passwordFile, "STOWAGE_PASSWORD_FILE", "STOWAGE_PASSWORD");
    if (given !== void 0)
      return given;
    if (process.stdin.isTTY)
      return promptHidden(`enter password for repository: `);
    throw new StowageError("PASSWORD_REQUIRED", `the repository is encrypted and no password was given: ${HOW}`);
  })();
}
function newRepositoryPassword(ctx) {
  return async () => {
    const given = await givenPassword(ctx.opts.passwordFile, "STOWAGE_PASSWORD_FILE", "STOWAGE_PASSWORD");
    if (given !== void 0)
      return given;
    if (process.stdin.isTTY)
      return promptTwice("enter password for new repository: ");
    throw new StowageError("PASSWORD_REQUIRED", `a new repository is encrypted and needs a password: ${HOW} (or use --insecure-no-encryption for a plaintext repository)`);
  };
}
async function newKeyPassword(file) {
  const given = await givenPassword(file, "STOWAGE_NEW_PASSWORD_FILE", "STOWAGE_NEW_PASSWORD");
  if (given !== void 0)
    return given;
  if (process.stdin.isTTY)
    return promptTwice("enter new password: ");
  throw new StowageError("PASSWORD_REQUIRED", "no new password given: set STOWAGE_NEW_PASSWORD, or name a file with --new-password-file or STOWAGE_NEW_PASSWORD_FILE, or run in a terminal to be asked");
}
function kdfForNewKeys() {
  return process.env.STOWAGE_TEST_KDF === "fast" ? TEST_KDF : DEFAULT_KDF;
}
async function givenPassword(flagFile, fileVar, var_) {
  const file = flagFile ?? env(fileVar);
  if (file !== void 0)
    return readPasswordFile(file);
  return env(var_);
}
async function readPasswordFile(file) {
  let text;
  try {
    text = await readFile2(file, "utf8");
  } catch (err) {
    const e = err;
    const why = e.code === "ENOENT" ? "no such file" : e.code === "EACCES" ? "permission denied" : e.message;
    throw new StowageError("INVALID_ARGUMENT", `cannot read password file ${file}: ${why}`, { cause: err });
  }
  return text.replace(/\r?\n$/, "");
}
async function promptTwice(prompt) {
  const a = await promptHidden(prompt);
  const b = await promptHidden("enter the password again: ");
  if (a !== b)
    throw new StowageError("INVALID_ARGUMENT", "the passwords do not match");
  return a;
}
var typedAhead = "";
function promptHidden(prompt) {
  const stdin = process.stdin;
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  return new Promise((resolve6, reject) => {
    let buf = "";
    const finish = (rest, fn) => {
      typedAhead = rest;
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      fn();
    };
    const onData = (s) => {
      const chars = [...s];
      for (let i = 0; i < chars.length; i++) {
        const ch = chars[i];
        const rest = () => chars.slice(i + 1).join("");
        if (ch === "\r" || ch === "\n")
          return finish(rest(), () => resolve6(buf));
        if (ch === "")
          return finish("", () => reject(new StowageError("ABORTED", "interrupted")));
        if (ch === "" && buf === "")
          return finish("", () => reject(new StowageError("PASSWORD_REQUIRED", "no password entered")));
        if (ch === "\x7F" || ch === "\b")
          buf = [...buf].slice(0, -1).join("");
        else if (ch >= " ")
          buf += ch;
      }
    };
    stdin.setEncoding("utf8");
    stdin.on("data", onData);
    stdin.resume();
    if (typedAhead) {
      const t = typedAhead;
      typedAhead = "";
      onData(t);
    }
  });
}

// packages/cli/dist/locking.js
function globals(ctx) {
  return ctx.opts;
}
function parseDuration(v) {
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s))
    return Number(s) * 1e3;
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(s);
  if (!m || s === "")
    throw new StowageError("INVALID_ARGUMENT", `invalid duration "${v}" (examples: 30s, 5m, 1h30m)`);
  return Number(m[1] ?? 0) * 36e5 + Number(m[2] ?? 0) * 6e4 + Number(m[3] ?? 0) * 1e3 + Number(m[4] ?? 0);
}
function applyLockOptions(ctx, repo) {
  const g = globals(ctx);
  setLockDefaults(repo, { retryMs: g.retryLock === void 0 ? 0 : parseDuration(g.retryLock), signal: ctx.signal });
}
function wantsLock(ctx) {
  return globals(ctx).lock !== false;
}
async function readLock(ctx, repo) {
  return wantsLock(ctx) ? lockRepository(repo, "shared") : void 0;
}

// packages/cli/dist/context.js
function repoLocation(ctx) {
  const loc = ctx.opts.repo ?? process.env.STOWAGE_REPOSITORY;
  if (!loc)
    throw new StowageError("NO_REPOSITORY", "no repository given: use -r <path> or set STOWAGE_REPOSITORY");
  return loc;
}
function backendFor(location) {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new StowageError("INVALID_ARGUMENT", `unsupported repository location ${location}: only local directories are supported in this build`);
  }
  return new LocalBackend(location);
}
function cacheRoot(ctx) {
  return ctx.opts.cacheDir ?? defaultCacheRoot();
}
async function withRepo(ctx, fn) {
  const keyHint = ctx.opts.keyHint ?? (process.env.STOWAGE_KEY_HINT || void 0);
  const repo = await Repository.open(backendFor(repoLocation(ctx)), { cacheRoot: cacheRoot(ctx), password: passwordSource(ctx), ...keyHint && { keyHint } });
  applyLockOptions(ctx, repo);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

// packages/cli/dist/args.js
var UNITS = { "": 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };
function parseSize(v) {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(v.trim());
  const mult = m ? UNITS[m[2].toLowerCase()] : void 0;
  if (!m || mult === void 0)
    throw new StowageError("INVALID_ARGUMENT", `invalid size "${v}" (examples: 65536, 256K, 1M)`);
  return Number(m[1]) * mult;
}
function parseIntArg(v) {
  if (!/^-?\d+$/.test(v.trim()))
    throw new StowageError("INVALID_ARGUMENT", `invalid number "${v}"`);
  return Number(v);
}
function collect2(v, prev = []) {
  return [...prev, v];
}

// packages/cli/dist/commands/init.js
function registerInit(program, run2) {
  program.command("init").description("create an encrypted repository (fails on a non-empty location); the password comes from --password-file, STOWAGE_PASSWORD_FILE, STOWAGE_PASSWORD or a prompt").option("--chunk-avg <size>", "average chunk size (e.g. 256K, 1M); min = avg/4, max = avg*4 unless given", parseSize).option("--chunk-min <size>", "minimum chunk size", parseSize).option("--chunk-max <size>", "maximum chunk size", parseSize).option("--compression-level <n>", "zstd level 1..22, 0 stores raw (default 3)", parseIntArg).option("--pack-size <size>", "target pack size (default 16M)", parseSize).option("--insecure-no-encryption", "create a plaintext repository: anyone who can read its files can read the data").action((o) => run2(async (ctx) => {
    const location = repoLocation(ctx);
    const encrypted = !o.insecureNoEncryption;
    const repo = await Repository.init(backendFor(location), {
      cacheRoot: cacheRoot(ctx),
      ...encrypted ? { encryption: "aes-256-gcm", password: newRepositoryPassword(ctx), kdf: kdfForNewKeys() } : { encryption: "none" },
      ...o.chunkAvg !== void 0 && { chunkAvg: o.chunkAvg },
      ...o.chunkMin !== void 0 && { chunkMin: o.chunkMin },
      ...o.chunkMax !== void 0 && { chunkMax: o.chunkMax },
      ...o.compressionLevel !== void 0 && { compressionLevel: o.compressionLevel },
      ...o.packSize !== void 0 && { packSize: o.packSize }
    });
    try {
      if (ctx.opts.json)
        ctx.json({ id: repo.config.id, location, encrypted, ...repo.keyName && { key: repo.keyName }, config: repo.config });
      else {
        const how = repo.keyName ? `encrypted, key ${repo.keyName.slice(0, 8)}` : "NOT encrypted";
        ctx.out(`created stowage repository ${repo.config.id.slice(0, 10)} at ${location} (${how})`);
        if (repo.keyName)
          ctx.info("the password is needed to read this repository: without it nobody can restore the data, so keep it safe");
      }
    } finally {
      await repo.close();
    }
  }));
}

// packages/cli/dist/format.js
function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}
function formatRate(bytes, seconds) {
  return seconds > 0 ? `${(bytes / 1e6 / seconds).toFixed(1)} MB/s` : "-";
}
function table(header2, rows) {
  const widths = header2.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line2 = (cells) => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd();
  return [line2(header2), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line2)].join("\n");
}
function formatTime(iso) {
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// packages/cli/dist/commands/check.js
function registerCheck(program, run2) {
  program.command("check").description("verify snapshots, chunk lists, index and pack trailers; --read-data also re-hashes every blob").option("--read-data", "read every pack and verify every blob against its id").option("--read-data-subset <n/m|p%>", "read only packs of group n of m (by pack id), or a random p percent of them").action((o) => run2((ctx) => withRepo(ctx, async (repo) => {
    const subset = o.readDataSubset === void 0 ? void 0 : parseReadDataSubset(o.readDataSubset);
    const r = await check(repo, { readData: o.readData ?? false, ...subset && { readDataSubset: subset }, lock: wantsLock(ctx), signal: ctx.signal });
    if (ctx.opts.json)
      ctx.json(r);
    else
      printCheck(ctx, r);
    if (r.errors > 0)
      throw new StowageError("CORRUPT", `check found ${r.errors} error${r.errors === 1 ? "" : "s"} (the findings above name what is damaged and the snapshots that depend on it)`);
  })));
}
function printCheck(ctx, r) {
  for (const f of r.findings)
    ctx.out(line(f));
  const read = r.packsRead ? `; read ${r.packsRead} packs (${formatBytes(r.bytesRead)}), verified ${r.blobsRead} blobs` : "";
  ctx.out(`checked ${r.snapshots} snapshots, ${r.indexFiles} index files, ${r.packs} packs, ${r.blobs} blobs${read} in ${r.seconds.toFixed(2)} s`);
  const infos = r.findings.filter((f) => f.severity === "info").length;
  if (r.errors === 0)
    ctx.out(`no errors found${infos ? ` (${infos} notes)` : ""}`);
}
function line(f) {
  const deps = f.snapshots?.length ? `
  snapshots affected: ${f.snapshots.map(shortId).join(", ")}` : "";
  return `${f.severity === "error" ? "error" : "note"}: [${f.kind}] ${f.message}${deps}`;
}

// packages/cli/dist/commands/gc.js
function registerGc(program, run2) {
  program.command("gc").description("delete packs no snapshot uses and repack partly used ones (holds the exclusive lock)").option("--dry-run", "print the plan (packs kept, repacked, deleted; bytes to free) and change nothing").option("--max-unused <limit>", 'unused data to tolerate in kept packs: a percentage of the used data, a size, or "unlimited"', "5%").action((o) => run2((ctx) => withRepo(ctx, (repo) => runGc(ctx, repo, o))));
}
async function runGc(ctx, repo, o) {
  const out = await gc(repo, { maxUnused: parseMaxUnused(o.maxUnused ?? "5%"), dryRun: o.dryRun ?? false, signal: ctx.signal });
  if (ctx.opts.json)
    ctx.json(gcJson(out));
  else
    printGc(ctx, out);
}
function gcJson(out) {
  const p = out.plan;
  return {
    dryRun: out.result === void 0,
    seconds: out.seconds,
    plan: { snapshots: p.snapshots, maxUnused: formatMaxUnused(p.maxUnused), indexFiles: p.indexFiles.length, rewriteIndex: p.rewriteIndex, stats: p.stats, packs: p.packs, unindexedPacks: p.unindexedPacks, missingPacks: p.missingPacks },
    ...out.result && { result: out.result }
  };
}
function printGc(ctx, out) {
  const p = out.plan;
  const s = p.stats;
  const count = (a) => p.packs.filter((x) => x.action === a);
  const keep = count("keep");
  const repack = count("repack");
  const del = count("delete");
  ctx.out(`${p.snapshots} snapshots, ${s.packs} packs (${formatBytes(s.packBytes)}), ${s.blobs} blobs of which ${s.usedBlobs} used`);
  ctx.out(`used ${formatBytes(s.usedBytes)}, unused ${formatBytes(s.unusedBytes)}${s.duplicateBlobs ? `, ${s.duplicateBlobs} duplicate blob copies` : ""}`);
  if (out.result === void 0)
    printPlanTable(ctx, p);
  ctx.out(`plan: keep ${keep.length} packs, repack ${repack.length} (${formatBytes(s.repackBytes)}, copying ${formatBytes(s.repackUsedBytes)}), delete ${del.length}${p.unindexedPacks.length ? ` + ${p.unindexedPacks.length} unindexed` : ""} (${formatBytes(s.deleteBytes)})`);
  ctx.out(`${out.result ? "expected to free" : "would free"} ${formatBytes(s.freeBytes)}; unused left ${formatBytes(s.unusedAfter)} (max-unused ${formatMaxUnused(p.maxUnused)})`);
  const r = out.result;
  if (!r) {
    ctx.out("dry run: nothing was changed");
    return;
  }
  ctx.out(`deleted ${r.packsDeleted} packs, wrote ${r.packsWritten} (${r.blobsRepacked} blobs repacked), index files: wrote ${r.indexFilesWritten}, removed ${r.indexFilesRemoved}; freed ${formatBytes(Math.max(0, r.bytesFreed))} in ${out.seconds.toFixed(2)} s`);
}
function printPlanTable(ctx, p) {
  const rows = [
    ...p.packs.map((x) => [x.action, shortId(x.id), formatBytes(x.size), `${x.usedBlobs}/${x.blobs}`, formatBytes(x.usedBytes), formatBytes(x.unusedBytes)]),
    ...p.unindexedPacks.map((x) => ["delete", shortId(x.id), formatBytes(x.size), "unindexed", "", ""])
  ];
  const order = { delete: 0, repack: 1, keep: 2 };
  rows.sort((a, b) => order[a[0]] - order[b[0]]);
  if (rows.length)
    ctx.out(table(["Action", "Pack", "Size", "Used blobs", "Used", "Unused"], rows));
  for (const m of p.missingPacks)
    ctx.out(`missing pack ${shortId(m)} (nothing uses it): dropped from the index`);
}

// packages/cli/dist/commands/forget.js
function parseKeep(v) {
  const s = v.trim().toLowerCase();
  if (s === "unlimited" || s === "-1")
    return -1;
  if (!/^\d+$/.test(s))
    throw new StowageError("INVALID_ARGUMENT", `invalid count "${v}": expected a number or "unlimited"`);
  return Number(s);
}
function parseGroupBy(v) {
  const parts = v.split(",").map((x) => x.trim()).filter((x) => x !== "");
  for (const p of parts)
    if (p !== "name" && p !== "host")
      throw new StowageError("INVALID_ARGUMENT", `invalid --group-by "${v}": use name, host, "name,host" or "" (one group)`);
  return parts;
}
function registerForget(program, run2) {
  program.command("forget").description("remove snapshots, by id or by a retention policy (per snapshot name); data is freed by gc (or --prune)").argument("[snapshot...]", 'snapshot ids, unique prefixes or "latest" (instead of a policy)').option("--keep-last <n>", "keep the n newest snapshots", parseKeep).option("--keep-hourly <n>", "keep the newest snapshot of each of the last n hours that have one", parseKeep).option("--keep-daily <n>", "keep the newest snapshot of each of the last n days that have one", parseKeep).option("--keep-weekly <n>", "keep the newest snapshot of each of the last n ISO weeks that have one", parseKeep).option("--keep-monthly <n>", "keep the newest snapshot of each of the last n months that have one", parseKeep).option("--keep-yearly <n>", "keep the newest snapshot of each of the last n years that have one", parseKeep).option("--keep-within <duration>", "keep snapshots newer than the newest minus this duration (e.g. 2y5m7d3h, 1w)").option("--keep-tag <tag>", "keep snapshots with this tag (repeatable)", collect2).option("--group-by <keys>", 'apply the policy per group: name, host, "name,host", or "" for one group', "name").option("--dry-run", "print what would be kept and removed, and why; remove nothing").option("--prune", "run gc afterwards").option("--max-unused <limit>", "with --prune: gc --max-unused", "5%").action((ids, o) => run2((ctx) => withRepo(ctx, async (repo) => {
    let within;
    if (o.keepWithin !== void 0) {
      within = parseCalendarDuration(o.keepWithin);
      if (!within)
        throw new StowageError("INVALID_ARGUMENT", `invalid --keep-within "${o.keepWithin}" (examples: 7d, 2y5m7d3h, 36h, 1w)`);
    }
    const policy = {
      ...o.keepLast !== void 0 && { last: o.keepLast },
      ...o.keepHourly !== void 0 && { hourly: o.keepHourly },
      ...o.keepDaily !== void 0 && { daily: o.keepDaily },
      ...o.keepWeekly !== void 0 && { weekly: o.keepWeekly },
      ...o.keepMonthly !== void 0 && { monthly: o.keepMonthly },
      ...o.keepYearly !== void 0 && { yearly: o.keepYearly },
      ...within && { within },
      ...o.keepTag && { tags: o.keepTag }
    };
    const maxUnused = parseMaxUnused(o.maxUnused);
    const r = await forget(repo, { ids, policy, groupBy: parseGroupBy(o.groupBy), dryRun: o.dryRun ?? false });
    if (ctx.opts.json) {
      const doc = forgetJson(r);
      if (o.prune && !r.dryRun)
        doc.gc = gcJson(await gc(repo, { maxUnused, signal: ctx.signal }));
      ctx.json(doc);
      return;
    }
    printForget(ctx, r);
    if (o.prune && !r.dryRun)
      await runGc(ctx, repo, { maxUnused: o.maxUnused });
  })));
}
function forgetJson(r) {
  return {
    dryRun: r.dryRun,
    removed: r.removed,
    kept: r.kept,
    groups: r.groups.map((g) => ({
      key: g.key,
      keep: g.decisions.filter((d) => d.keep).map((d) => ({ id: d.snapshot.id, time: d.snapshot.time, tags: d.snapshot.tags, reasons: d.reasons })),
      remove: g.decisions.filter((d) => !d.keep).map((d) => ({ id: d.snapshot.id, time: d.snapshot.time, tags: d.snapshot.tags }))
    }))
  };
}
function printForget(ctx, r) {
  for (const g of r.groups) {
    const key = Object.entries(g.key).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(", ") || "all snapshots";
    const kept = g.decisions.filter((d) => d.keep).length;
    ctx.out(`${key}: keep ${kept}, remove ${g.decisions.length - kept}`);
    ctx.out(table(["ID", "Time", "Tags", "Action", "Reasons"], g.decisions.map((d) => [shortId(d.snapshot.id), formatTime(d.snapshot.time), d.snapshot.tags.join(","), d.keep ? "keep" : "remove", d.reasons.join(", ")])));
    ctx.out("");
  }
  const verb = r.dryRun ? "would remove" : "removed";
  ctx.out(`${verb} ${r.removed.length} snapshot${r.removed.length === 1 ? "" : "s"}${r.groups.length === 0 && r.removed.length ? `: ${r.removed.map(shortId).join(", ")}` : ""}, kept ${r.kept}`);
  if (r.dryRun)
    ctx.out("dry run: nothing was changed");
}

// packages/cli/dist/commands/unlock.js
function registerUnlock(program, run2) {
  program.command("unlock").description("remove stale locks (of processes that are gone, or not refreshed for 30 minutes)").option("--remove-all", "remove every lock, also live ones: only when no other stowage process uses the repository").action((o) => run2((ctx) => withRepo(ctx, async (repo) => {
    const removed = await removeLocks(repo, { all: o.removeAll ?? false });
    if (ctx.opts.json)
      ctx.json({ removed });
    else
      ctx.out(removed.length ? `removed ${removed.length} lock${removed.length === 1 ? "" : "s"}: ${removed.map(shortId).join(", ")}` : "no stale locks");
  })));
}

// packages/cli/dist/commands/key.js
function registerKey(program, run2) {
  const key = program.command("key").description("manage the keys (passwords) of an encrypted repository");
  key.command("list").description('list the keys; "*" marks the one the password opened').action(() => run2((ctx) => withRepo(ctx, async (repo) => {
    if (!repo.encrypted)
      throw new StowageError("INVALID_ARGUMENT", "the repository is not encrypted: it has no keys");
    const keys = await repo.listKeys();
    if (ctx.opts.json) {
      ctx.json(keys.map((k) => ({ id: k.name, short_id: shortId(k.name), current: k.name === repo.keyName, ...k.error === void 0 ? info(k) : { error: k.error } })));
      return;
    }
    ctx.out(table([" ", "ID", "User", "Host", "Created", "KDF"], keys.map((k) => k.error === void 0 ? [k.name === repo.keyName ? "*" : " ", shortId(k.name), k.username, k.hostname, formatTime(k.created), `scrypt N=2^${Math.log2(k.kdf.N)} r=${k.kdf.r} p=${k.kdf.p}`] : [" ", shortId(k.name), "DAMAGED", "", "", k.error])));
    return keys.some((k) => k.error !== void 0) ? EXIT_WARNINGS : void 0;
  })));
  withNewPassword(key.command("add").description("add a key: a new password for the same repository (from --new-password-file, STOWAGE_NEW_PASSWORD_FILE, STOWAGE_NEW_PASSWORD or a prompt)")).option("--host <hostname>", "host name recorded in the key file").option("--user <username>", "user name recorded in the key file").action((o) => run2((ctx) => withRepo(ctx, async (repo) => {
    const password = await newKeyPassword(o.newPasswordFile);
    const k = await repo.addKey(password, { kdf: kdfForNewKeys(), ...o.host !== void 0 && { hostname: o.host }, ...o.user !== void 0 && { username: o.user } });
    if (ctx.opts.json)
      ctx.json({ id: k.name, ...info(k) });
    else
      ctx.out(`added key ${shortId(k.name)}`);
  })));
  key.command("remove").description("remove a key (not the one in use, never the last one)").argument("<id>", "key id or unique prefix (4+ hex characters)").action((ref) => run2((ctx) => withRepo(ctx, async (repo) => {
    const name = await repo.removeKey(ref);
    if (ctx.opts.json)
      ctx.json({ removed: name });
    else
      ctx.out(`removed key ${shortId(name)}`);
  })));
  withNewPassword(key.command("passwd").description("change the password: add a key with the new password, then remove the key in use")).option("--host <hostname>", "host name recorded in the new key file").option("--user <username>", "user name recorded in the new key file").action((o) => run2((ctx) => withRepo(ctx, async (repo) => {
    const old = repo.keyName ?? "";
    const password = await newKeyPassword(o.newPasswordFile);
    const k = await repo.changePassword(password, { kdf: kdfForNewKeys(), ...o.host !== void 0 && { hostname: o.host }, ...o.user !== void 0 && { username: o.user } });
    if (ctx.opts.json)
      ctx.json({ id: k.name, removed: old, ...info(k) });
    else
      ctx.out(`changed password: key ${shortId(k.name)} replaces key ${shortId(old)}`);
  })));
}
function withNewPassword(cmd) {
  return cmd.option("--new-password-file <file>", "read the new password from a file");
}
function info(k) {
  return { created: k.created, hostname: k.hostname, username: k.username, kdf: k.kdf };
}

// packages/cli/dist/commands/ls.js
var __addDisposableResource3 = function(env2, value, async) {
  if (value !== null && value !== void 0) {
    if (typeof value !== "object" && typeof value !== "function") throw new TypeError("Object expected.");
    var dispose, inner;
    if (async) {
      if (!Symbol.asyncDispose) throw new TypeError("Symbol.asyncDispose is not defined.");
      dispose = value[Symbol.asyncDispose];
    }
    if (dispose === void 0) {
      if (!Symbol.dispose) throw new TypeError("Symbol.dispose is not defined.");
      dispose = value[Symbol.dispose];
      if (async) inner = dispose;
    }
    if (typeof dispose !== "function") throw new TypeError("Object not disposable.");
    if (inner) dispose = function() {
      try {
        inner.call(this);
      } catch (e) {
        return Promise.reject(e);
      }
    };
    env2.stack.push({ value, dispose, async });
  } else if (async) {
    env2.stack.push({ async: true });
  }
  return value;
};
var __disposeResources3 = /* @__PURE__ */ (function(SuppressedError2) {
  return function(env2) {
    function fail(e) {
      env2.error = env2.hasError ? new SuppressedError2(e, env2.error, "An error was suppressed during disposal.") : e;
      env2.hasError = true;
    }
    var r, s = 0;
    function next() {
      while (r = env2.stack.pop()) {
        try {
          if (!r.async && s === 1) return s = 0, env2.stack.push(r), Promise.resolve().then(next);
          if (r.dispose) {
            var result = r.dispose.call(r.value);
            if (r.async) return s |= 2, Promise.resolve(result).then(next, function(e) {
              fail(e);
              return next();
            });
          } else s |= 1;
        } catch (e) {
          fail(e);
        }
      }
      if (s === 1) return env2.hasError ? Promise.reject(env2.error) : Promise.resolve();
      if (env2.hasError) throw env2.error;
    }
    return next();
  };
})(typeof SuppressedError === "function" ? SuppressedError : function(error, suppressed, message) {
  var e = new Error(message);
  return e.name = "SuppressedError", e.error = error, e.suppressed = suppressed, e;
});
var KIND = { docker: "docker-archive", oci: "OCI image archive", tar: "tar archive", raw: "byte stream" };
function registerLs(program, run2) {
  program.command("ls").description("list the layers of an image snapshot (digest, media type, size); --files lists the files of each layer").argument("<snapshot>", 'snapshot id, unique prefix, or "latest"').option("--files", "also list the files of each layer (path, size, mode), read from the stored data").option("--layer <digest>", "only this layer (digest, unique digest prefix, or path in the archive)").action((ref, o) => run2((ctx) => withRepo(ctx, async (repo) => {
    const env_1 = { stack: [], error: void 0, hasError: false };
    try {
      const _lock = __addDisposableResource3(env_1, await readLock(ctx, repo), true);
      const snap = await loadSnapshot(repo, await resolveSnapshot(repo, ref));
      const format = snap.format ?? "raw";
      let layers = snap.image ? allLayers(snap.image) : [];
      if (o.layer !== void 0) {
        const l = snap.image ? findLayer(snap.image, o.layer) : void 0;
        if (l === void 0)
          throw new StowageError("NOT_FOUND", `snapshot ${shortId(snap.id)} has no layer "${o.layer}"`);
        if (Array.isArray(l))
          throw new StowageError("AMBIGUOUS_ID", `layer "${o.layer}" is ambiguous: it matches ${l.length} layers`);
        layers = [l];
      }
      if (o.files) {
        process.stdout.on("error", (err) => err.code === "EPIPE" ? process.exit(0) : void 0);
        if (format === "raw")
          throw new StowageError("INVALID_ARGUMENT", `snapshot ${shortId(snap.id)} is a byte stream, not an archive: it has no files to list`);
        const units = layers.length ? layers : [void 0];
        return await listLayerFiles(ctx, repo, snap, units);
      }
      if (ctx.opts.json) {
        ctx.json({ id: snap.id, name: snap.name, format, size: snap.source.size, sha256: snap.source.sha256, ...snap.image && { image: o.layer === void 0 ? snap.image : { ...snap.image, layers } } });
        return;
      }
      header(ctx, snap);
      if (layers.length) {
        ctx.out(table(["#", "Digest", "Media type", "Size"], layers.map((l, i) => [String(i + 1), l.digest ?? `(unknown; diff_id ${l.diffId ?? "-"})`, l.mediaType, `${l.size} (${formatBytes(l.size)})`])));
      } else if (format !== "raw") {
        ctx.out("no image layers (use --files to list the archive)");
      }
    } catch (e_1) {
      env_1.error = e_1;
      env_1.hasError = true;
    } finally {
      const result_1 = __disposeResources3(env_1);
      if (result_1)
        await result_1;
    }
  })));
}
function header(ctx, snap) {
  const f = snap.image;
  const format = snap.format ?? "raw";
  ctx.out(`snapshot ${shortId(snap.id)} (${snap.name}): ${KIND[format] ?? format}, ${formatBytes(snap.source.size)}${f?.platform ? `, ${f.platform}` : ""}`);
  if (!f)
    return;
  const names = imageNames(f);
  if (names.length)
    ctx.out(`names:    ${names.join(", ")}`);
  if (f.manifestDigest)
    ctx.out(`manifest: ${f.manifestDigest}`);
  if (f.configDigest)
    ctx.out(`config:   ${f.configDigest}`);
  if (f.others?.length)
    ctx.out(`images:   ${f.others.length + 1} in the archive (layers of all are listed)`);
  for (const w of f.warnings ?? [])
    ctx.out(`warning:  ${w}`);
}
async function listLayerFiles(ctx, repo, snap, units) {
  let problems = 0;
  if (!ctx.opts.json)
    header(ctx, snap);
  for (const [i, layer] of units.entries()) {
    const range = layer ?? { offset: 0, length: snap.source.size };
    const label = layer ? layer.digest ?? layer.path : "archive";
    if (!ctx.opts.json)
      ctx.out(`
${layer ? `layer ${i + 1} ${label} (${layer.mediaType}, ${formatBytes(layer.size)})` : "files of the archive"}`);
    const onEntry = (e) => {
      if (ctx.opts.json) {
        ctx.out(JSON.stringify({ layer: layer ? layer.digest ?? null : null, path: e.path, type: e.type, size: e.size, mode: e.mode, ...e.linkname !== void 0 && { linkname: e.linkname } }));
      } else {
        const link4 = e.linkname !== void 0 ? ` ${e.type === "symlink" ? "->" : "link to"} ${e.linkname}` : "";
        ctx.out(`${modeString(e)} ${String(e.size).padStart(10)}  ${e.path}${link4}`);
      }
    };
    const r = await listFiles(repo, snap, range, onEntry, { signal: ctx.signal });
    if (r.problem) {
      problems++;
      process.stderr.write(`stowage: warning: ${label}: ${r.problem} (listed ${r.entries} entries)
`);
    } else if (!ctx.opts.json) {
      ctx.out(`${r.entries} entries${r.compression ? ` (${r.compression}-compressed layer)` : ""}`);
    }
  }
  return problems ? EXIT_WARNINGS : void 0;
}
var TYPE_CHAR = { file: "-", dir: "d", symlink: "l", hardlink: "h", char: "c", block: "b", fifo: "p", other: "?" };
function modeString(e) {
  const m = e.mode;
  const bit = (b, c) => m & b ? c : "-";
  let s = TYPE_CHAR[e.type] ?? "?";
  s += bit(256, "r") + bit(128, "w") + (m & 2048 ? m & 64 ? "s" : "S" : bit(64, "x"));
  s += bit(32, "r") + bit(16, "w") + (m & 1024 ? m & 8 ? "s" : "S" : bit(8, "x"));
  s += bit(4, "r") + bit(2, "w") + (m & 512 ? m & 1 ? "t" : "T" : bit(1, "x"));
  return s;
}

// packages/cli/dist/commands/repair.js
function registerRepair(program, run2) {
  const repair = program.command("repair").description("repair parts of a repository");
  repair.command("index").description("rebuild the index files from the pack trailers").action(() => run2((ctx) => withRepo(ctx, async (repo) => {
    const r = await repairIndex(repo);
    if (ctx.opts.json)
      ctx.json(r);
    else {
      ctx.out(`read ${r.packs} packs (${r.blobs} blobs); wrote ${r.indexFilesWritten} index files, removed ${r.indexFilesRemoved} old ones`);
      for (const d of r.damagedPacks)
        ctx.out(`damaged pack ${d.pack}: ${d.error}`);
    }
    return r.damagedPacks.length ? EXIT_WARNINGS : void 0;
  })));
}

// packages/cli/dist/progress-bar.js
function progressFor(ctx) {
  if (!ctx.stderr.isTTY || ctx.opts.quiet || ctx.opts.json)
    return { fn: void 0, done: () => void 0 };
  let last = 0;
  const t0 = performance.now();
  let shown = false;
  const fn = (e) => {
    const now = performance.now();
    if (now - last < 100)
      return;
    last = now;
    const secs = (now - t0) / 1e3;
    const rate = secs > 0 ? `${(e.done / 1e6 / secs).toFixed(0)} MB/s` : "";
    const pct = e.total ? ` ${(100 * e.done / e.total).toFixed(1)}%` : "";
    ctx.stderr.write(`\r\x1B[K${e.op}: ${formatBytes(e.done)}${e.total ? ` / ${formatBytes(e.total)}` : ""}${pct} ${rate}`);
    shown = true;
  };
  return { fn, done: () => shown ? void ctx.stderr.write("\r\x1B[K") : void 0 };
}

// packages/cli/dist/commands/restore.js
var __addDisposableResource4 = function(env2, value, async) {
  if (value !== null && value !== void 0) {
    if (typeof value !== "object" && typeof value !== "function") throw new TypeError("Object expected.");
    var dispose, inner;
    if (async) {
      if (!Symbol.asyncDispose) throw new TypeError("Symbol.asyncDispose is not defined.");
      dispose = value[Symbol.asyncDispose];
    }
    if (dispose === void 0) {
      if (!Symbol.dispose) throw new TypeError("Symbol.dispose is not defined.");
      dispose = value[Symbol.dispose];
      if (async) inner = dispose;
    }
    if (typeof dispose !== "function") throw new TypeError("Object not disposable.");
    if (inner) dispose = function() {
      try {
        inner.call(this);
      } catch (e) {
        return Promise.reject(e);
      }
    };
    env2.stack.push({ value, dispose, async });
  } else if (async) {
    env2.stack.push({ async: true });
  }
  return value;
};
var __disposeResources4 = /* @__PURE__ */ (function(SuppressedError2) {
  return function(env2) {
    function fail(e) {
      env2.error = env2.hasError ? new SuppressedError2(e, env2.error, "An error was suppressed during disposal.") : e;
      env2.hasError = true;
    }
    var r, s = 0;
    function next() {
      while (r = env2.stack.pop()) {
        try {
          if (!r.async && s === 1) return s = 0, env2.stack.push(r), Promise.resolve().then(next);
          if (r.dispose) {
            var result = r.dispose.call(r.value);
            if (r.async) return s |= 2, Promise.resolve(result).then(next, function(e) {
              fail(e);
              return next();
            });
          } else s |= 1;
        } catch (e) {
          fail(e);
        }
      }
      if (s === 1) return env2.hasError ? Promise.reject(env2.error) : Promise.resolve();
      if (env2.hasError) throw env2.error;
    }
    return next();
  };
})(typeof SuppressedError === "function" ? SuppressedError : function(error, suppressed, message) {
  var e = new Error(message);
  return e.name = "SuppressedError", e.error = error, e.suppressed = suppressed, e;
});
function registerRestore(program, run2) {
  program.command("restore").description('restore a snapshot to a file, or to stdout with "-" ("latest" and unique id prefixes work)').argument("<snapshot>", 'snapshot id, unique prefix, or "latest"').argument("<target>", "file to create, or - for stdout").option("--overwrite", "replace the target if it exists").option("--layer <digest>", "image snapshots: restore only this layer blob (digest, unique digest prefix, or path in the archive), verified against its digest").option("--no-image-check", "image snapshots: do not recompute the layer, config and manifest digests (the whole sha256 is still verified)").action((ref, target, o) => run2((ctx) => withRepo(ctx, async (repo) => {
    const env_1 = { stack: [], error: void 0, hasError: false };
    try {
      const _lock = __addDisposableResource4(env_1, await readLock(ctx, repo), true);
      const id = await resolveSnapshot(repo, ref);
      if (o.layer !== void 0)
        return await restoreLayer(ctx, repo, id, o.layer, target, o.overwrite ?? false);
      const progress = target === "-" ? { fn: void 0, done: () => void 0 } : progressFor(ctx);
      const t0 = performance.now();
      const opts = { overwrite: o.overwrite ?? false, signal: ctx.signal, ...o.imageCheck === false && { imageCheck: false }, ...progress.fn && { progress: progress.fn } };
      let r;
      try {
        r = target === "-" ? await restoreToStream(repo, id, process.stdout, opts) : await restoreToFile(repo, id, target, opts);
      } finally {
        progress.done();
      }
      const secs = (performance.now() - t0) / 1e3;
      const images = r.imageBlobsVerified !== void 0 ? `, ${r.imageBlobsVerified} image digest${r.imageBlobsVerified === 1 ? "" : "s"} (layers, config${r.snapshot.image?.manifestDigest ? ", manifest" : ""}) verified` : "";
      const summary = { id, target, bytes: r.bytes, sha256: r.sha256, verified: true, seconds: secs, ...r.imageBlobsVerified !== void 0 && { imageBlobsVerified: r.imageBlobsVerified }, ...r.warnings && { warnings: r.warnings } };
      for (const w of r.warnings ?? [])
        process.stderr.write(`stowage: warning: ${w}
`);
      if (target === "-") {
        if (ctx.opts.json)
          process.stderr.write(JSON.stringify(summary) + "\n");
        else
          ctx.info(`restored snapshot ${shortId(id)}: ${formatBytes(r.bytes)}, sha256 verified${images}`);
      } else if (ctx.opts.json) {
        ctx.json(summary);
      } else {
        ctx.out(`restored snapshot ${shortId(id)} to ${target}: ${formatBytes(r.bytes)} in ${secs.toFixed(2)} s (${formatRate(r.bytes, secs)}), sha256 ${r.sha256} verified${images}`);
      }
      return r.warnings ? EXIT_WARNINGS : void 0;
    } catch (e_1) {
      env_1.error = e_1;
      env_1.hasError = true;
    } finally {
      const result_1 = __disposeResources4(env_1);
      if (result_1)
        await result_1;
    }
  })));
}
async function restoreLayer(ctx, repo, id, ref, target, overwrite) {
  const snap = await loadSnapshot(repo, id);
  if (!snap.image)
    throw new StowageError("INVALID_ARGUMENT", `snapshot ${shortId(id)} is not an image archive (format ${snap.format ?? "raw"}): it has no layers`);
  const layer = findLayer(snap.image, ref);
  if (layer === void 0)
    throw new StowageError("NOT_FOUND", `snapshot ${shortId(id)} has no layer "${ref}" (see stowage ls ${shortId(id)})`);
  if (Array.isArray(layer))
    throw new StowageError("AMBIGUOUS_ID", `layer "${ref}" is ambiguous: it matches ${layer.length} layers (${layer.map((l) => l.digest ?? l.path).join(", ")})`);
  const what = `layer ${layer.digest ?? layer.path}`;
  const t = { offset: layer.offset, length: layer.length, what, ...layer.digest && { digest: layer.digest } };
  const progress = target === "-" ? { fn: void 0, done: () => void 0 } : progressFor(ctx);
  const t0 = performance.now();
  let r;
  try {
    const opts = { signal: ctx.signal, overwrite, ...progress.fn && { progress: progress.fn } };
    r = target === "-" ? await restoreRangeToStream(repo, snap, t, process.stdout, opts) : await restoreRangeToFile(repo, snap, t, target, opts);
  } finally {
    progress.done();
  }
  const secs = (performance.now() - t0) / 1e3;
  const summary = { id, target, layer: layer.digest ?? null, path: layer.path, mediaType: layer.mediaType, offset: layer.offset, bytes: r.bytes, digest: r.digest, verified: r.verified, seconds: secs };
  const check2 = r.verified ? `${r.digest} verified` : `${r.digest} (the archive states no digest for it: not verified)`;
  if (target === "-") {
    if (ctx.opts.json)
      process.stderr.write(JSON.stringify(summary) + "\n");
    else
      ctx.info(`restored ${what} of snapshot ${shortId(id)}: ${formatBytes(r.bytes)}, ${check2}`);
  } else if (ctx.opts.json) {
    ctx.json(summary);
  } else {
    ctx.out(`restored ${what} of snapshot ${shortId(id)} to ${target}: ${formatBytes(r.bytes)} in ${secs.toFixed(2)} s, ${check2}`);
  }
}

// packages/cli/dist/commands/snapshot.js
function registerSnapshot(program, run2) {
  program.command("snapshot").description('store a snapshot of a file, or of stdin with "-"').argument("<input>", "file to snapshot, or - for stdin").option("--tag <tag>", "add a tag (repeatable)", collect2).option("--name <name>", 'snapshot name (default: the input file name; "stdin" for -)').option("--host <hostname>", "override the host name recorded").option("--force", "re-read the input even if it is unchanged since its last snapshot").option("--format <format>", "auto (detect tar, docker-archive, OCI archive), raw, tar, docker or oci", "auto").action((input, o) => run2((ctx) => withRepo(ctx, async (repo) => {
    const progress = progressFor(ctx);
    const common = {
      ...o.name !== void 0 && { name: o.name },
      ...o.host !== void 0 && { hostname: o.host },
      tags: o.tag ?? [],
      ...o.format !== void 0 && { format: o.format },
      signal: ctx.signal,
      ...progress.fn && { progress: progress.fn }
    };
    let snap;
    let reused = false;
    try {
      if (input === "-") {
        snap = await snapshotStream(repo, process.stdin, { kind: "stdin", path: "-" }, common);
      } else {
        const r = await snapshotFile(repo, input, { ...common, force: o.force ?? false });
        snap = r.snapshot;
        reused = r.reused;
      }
    } finally {
      progress.done();
    }
    report(ctx, snap, reused);
    for (const w of snap.image?.warnings ?? [])
      process.stderr.write(`stowage: warning: ${w}
`);
    if (snap.image?.warnings) {
      process.stderr.write(`stowage: warning: stored as a plain tar (byte for byte), without image checks on restore
`);
      return EXIT_WARNINGS;
    }
    return void 0;
  })));
}
function report(ctx, s, reused) {
  const sum = s.summary;
  const mbps = sum.seconds > 0 ? sum.bytesRead / 1e6 / sum.seconds : 0;
  if (ctx.opts.json) {
    ctx.json({
      id: s.id,
      name: s.name,
      tags: s.tags,
      time: s.time,
      hostname: s.hostname,
      size: s.source.size,
      sha256: s.source.sha256,
      bytesRead: sum.bytesRead,
      bytesNew: sum.bytesNew,
      bytesStored: sum.bytesStored,
      chunks: sum.chunks,
      newChunks: sum.newChunks,
      seconds: sum.seconds,
      mbPerSec: Number(mbps.toFixed(1)),
      reused,
      ...s.parent && { parent: s.parent },
      ...s.format && { format: s.format },
      ...s.image && { image: { kind: s.image.kind, names: imageNames(s.image), ...s.image.configDigest && { configDigest: s.image.configDigest }, ...s.image.manifestDigest && { manifestDigest: s.image.manifestDigest }, layers: s.image.layers.length, ...s.image.warnings && { warnings: s.image.warnings } } }
    });
    return;
  }
  ctx.out(`snapshot ${shortId(s.id)} saved (${s.name}${s.tags.length ? `, tags ${s.tags.join(",")}` : ""})`);
  if (reused)
    ctx.out(`  unchanged since snapshot ${shortId(s.parent ?? "")}: content reused without reading (use --force to re-read)`);
  ctx.out(`  read    ${formatBytes(sum.bytesRead)} in ${sum.seconds.toFixed(2)} s (${formatRate(sum.bytesRead, sum.seconds)})`);
  ctx.out(`  new     ${formatBytes(sum.bytesNew)} after dedup (${sum.newChunks} of ${sum.chunks} chunks)`);
  ctx.out(`  stored  ${formatBytes(sum.bytesStored)} after compression`);
  if (s.image && !s.image.warnings) {
    const names = imageNames(s.image);
    ctx.out(`  image   ${s.image.kind === "oci" ? "OCI image archive" : "docker-archive"}${names.length ? ` ${names.join(", ")}` : ""}, ${s.image.layers.length} layer${s.image.layers.length === 1 ? "" : "s"}`);
  }
  ctx.out(`  id      ${s.id}`);
}

// packages/cli/dist/commands/snapshots.js
function registerSnapshots(program, run2) {
  program.command("snapshots").description("list snapshots").action(() => run2((ctx) => withRepo(ctx, async (repo) => {
    const snaps = await listSnapshots(repo);
    if (ctx.opts.json) {
      ctx.json(snaps.map((s) => ({
        id: s.id,
        short_id: shortId(s.id),
        time: s.time,
        hostname: s.hostname,
        username: s.username,
        name: s.name,
        tags: s.tags,
        size: s.source.size,
        sha256: s.source.sha256,
        path: s.source.path,
        ...s.parent && { parent: s.parent },
        ...s.format && { format: s.format },
        ...s.image && { image_names: imageNames(s.image) },
        summary: s.summary
      })));
      return;
    }
    const images = snaps.some((s) => s.image);
    const imageCell = (s) => s.image && !s.image.warnings ? imageNames(s.image).join(",") || `(${s.format})` : "";
    ctx.out(table(["ID", "Time", "Host", "Name", ...images ? ["Image"] : [], "Tags", "Size"], snaps.map((s) => [shortId(s.id), formatTime(s.time), s.hostname, s.name, ...images ? [imageCell(s)] : [], s.tags.join(","), formatBytes(s.source.size)])));
    ctx.out(`${snaps.length} snapshot${snaps.length === 1 ? "" : "s"}`);
  })));
}

// packages/cli/dist/main.js
var VERSION = "0.1.0";
async function main(argv) {
  let exitCode = EXIT_OK;
  const abort = new AbortController();
  const onSigint = () => abort.abort(new StowageError("ABORTED", "interrupted"));
  process.once("SIGINT", onSigint);
  process.once("SIGTERM", onSigint);
  const program = new Command("stowage");
  program.description("content-addressed, deduplicating backup store for container images and data").version(VERSION).option("-r, --repo <path>", "repository location (or STOWAGE_REPOSITORY)").option("--json", "machine-readable output: one JSON document on stdout").option("-q, --quiet", "print only errors and requested data").option("--cache-dir <dir>", "local cache root (or STOWAGE_CACHE_DIR; default ~/.cache/stowage)").option("--debug", "print stack traces of errors").option("--retry-lock <duration>", "wait up to this long for a locked repository (e.g. 30s, 5m) instead of failing with exit 11").option("--no-lock", "restore and check: run without taking a shared lock").option("--password-file <file>", "read the repository password from a file (or STOWAGE_PASSWORD_FILE, STOWAGE_PASSWORD; else a prompt)").option("--key-hint <id>", "key id to try first (or STOWAGE_KEY_HINT)").exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  const run2 = async (fn) => {
    const opts = program.opts();
    const ctx = {
      opts,
      signal: abort.signal,
      stdout: process.stdout,
      stderr: process.stderr,
      out: (line2) => void process.stdout.write(line2 + "\n"),
      info: (line2) => opts.quiet ? void 0 : void process.stderr.write(line2 + "\n"),
      json: (v) => void process.stdout.write(JSON.stringify(v, null, 2) + "\n")
    };
    try {
      exitCode = await fn(ctx) ?? EXIT_OK;
    } catch (err) {
      exitCode = reportError(err, opts);
    }
  };
  registerInit(program, run2);
  registerSnapshot(program, run2);
  registerSnapshots(program, run2);
  registerRestore(program, run2);
  registerLs(program, run2);
  registerRepair(program, run2);
  registerForget(program, run2);
  registerGc(program, run2);
  registerCheck(program, run2);
  registerUnlock(program, run2);
  registerKey(program, run2);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      exitCode = err.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    } else {
      exitCode = reportError(err, program.opts());
    }
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
  }
  return exitCode;
}
function reportError(err, opts) {
  const code = isStowageError(err) ? err.code : void 0;
  const message = err instanceof Error ? err.message : String(err);
  if (opts.json)
    process.stderr.write(JSON.stringify({ error: { code: code ?? "INTERNAL", message } }) + "\n");
  else
    process.stderr.write(`stowage: ${message}${code ? ` [${code}]` : ""}
`);
  if (opts.debug && err instanceof Error && err.stack)
    process.stderr.write(err.stack + "\n");
  if (!code && !opts.debug && !opts.json)
    process.stderr.write("stowage: this is a bug; run with --debug for details\n");
  const exit = exitCodeFor(code);
  return code === "ABORTED" ? EXIT_INTERRUPTED : exit;
}
export {
  VERSION,
  main
};

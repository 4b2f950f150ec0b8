/** SHA-256's compression function with SHA-NI (sha256_pair.c); null when not built or not supported by the CPU. */
declare const native: {
  /** True: the CPU has SHA-NI (always true when the module is not null). */
  supported(): boolean;
  /** Runs the 64-byte blocks of `data` (length a multiple of 64) through `state` (H0..H7, 32 bytes, native order). */
  compress(state: Uint32Array, data: Uint8Array): void;
  /** Runs the same blocks through two states at once (one message schedule, two independent round chains). */
  compress2(stateA: Uint32Array, stateB: Uint32Array, data: Uint8Array): void;
} | null;
export = native;

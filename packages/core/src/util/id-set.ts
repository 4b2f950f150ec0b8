/**
 * A set of 32-byte ids (BLAKE3 outputs, uniformly distributed) in one flat typed array:
 * open addressing with linear probing and backward-shift deletion, at most half full,
 * so about 64-128 bytes per id, with no per-id objects for the garbage collector (a
 * Set of 32-character latin1 strings costs about 100 bytes per id plus a string each).
 */
const ID_BYTES = 32;
const MIN_SLOTS = 1024;

export class IdSet {
  #slots = MIN_SLOTS;
  #keys = new Uint8Array(MIN_SLOTS * ID_BYTES);
  #used = new Uint8Array(MIN_SLOTS);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(id: Uint8Array): boolean {
    return this.#find(id) >= 0;
  }

  /** Adds `id` (its first 32 bytes); false when it was there already. */
  add(id: Uint8Array): boolean {
    if (id.length < ID_BYTES) throw new RangeError(`IdSet: an id has ${ID_BYTES} bytes, got ${id.length}`);
    if (this.#find(id) >= 0) return false;
    if ((this.#size + 1) * 2 > this.#slots) this.#grow();
    this.#insert(id);
    this.#size++;
    return true;
  }

  /** Removes `id`; false when it was not there. */
  delete(id: Uint8Array): boolean {
    let i = this.#find(id);
    if (i < 0) return false;
    const mask = this.#slots - 1;
    // backward-shift deletion: move later members of the probe run into the hole
    for (let j = (i + 1) & mask; this.#used[j]; j = (j + 1) & mask) {
      const home = this.#home(this.#keys, j * ID_BYTES);
      // j's entry may move to i when i lies cyclically in [home, j)
      if (((j - home) & mask) >= ((j - i) & mask)) {
        this.#keys.copyWithin(i * ID_BYTES, j * ID_BYTES, j * ID_BYTES + ID_BYTES);
        i = j;
      }
    }
    this.#used[i] = 0;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#slots = MIN_SLOTS;
    this.#keys = new Uint8Array(MIN_SLOTS * ID_BYTES);
    this.#used = new Uint8Array(MIN_SLOTS);
    this.#size = 0;
  }

  #home(buf: Uint8Array, at: number): number {
    return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) & (this.#slots - 1);
  }

  #find(id: Uint8Array): number {
    const mask = this.#slots - 1;
    for (let i = this.#home(id, 0); this.#used[i]; i = (i + 1) & mask) {
      const at = i * ID_BYTES;
      let k = 0;
      while (k < ID_BYTES && this.#keys[at + k] === id[k]) k++;
      if (k === ID_BYTES) return i;
    }
    return -1;
  }

  #insert(id: Uint8Array): void {
    const mask = this.#slots - 1;
    let i = this.#home(id, 0);
    while (this.#used[i]) i = (i + 1) & mask;
    this.#keys.set(id.subarray(0, ID_BYTES), i * ID_BYTES);
    this.#used[i] = 1;
  }

  #grow(): void {
    const keys = this.#keys;
    const used = this.#used;
    const old = this.#slots;
    this.#slots = old * 2;
    this.#keys = new Uint8Array(this.#slots * ID_BYTES);
    this.#used = new Uint8Array(this.#slots);
    for (let i = 0; i < old; i++) if (used[i]) this.#insert(keys.subarray(i * ID_BYTES, i * ID_BYTES + ID_BYTES));
  }
}

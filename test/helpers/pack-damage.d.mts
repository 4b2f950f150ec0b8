/** Types of pack-damage.mjs (plain JavaScript, shared with a child process). */
export type Damage = { kind: 'swap'; a: string; b: string } | { kind: 'truncate'; a: string; size: number } | { kind: 'flip'; a: string; at: number; bit: number };
export function blobBytesEnd(file: string): number;
export function applyDamage(d: Damage): () => void;

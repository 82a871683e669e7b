/**
 * The key partition (0 … partitions−1) of a record key: FNV-1a over the key values' JSON, so every
 * consumer, worker and restart agrees on it without coordination.
 */
export function partitionOf(keyValues: readonly unknown[], partitions: number): number {
  if (partitions <= 1) return 0;
  const text = JSON.stringify(keyValues);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/**
 * Indices of the k highest scores among `candidates` (or all of 0..n-1), best first, with a
 * typed-array binary min-heap: O(n log k), no per-item objects on the hot path.
 */
export function topK(
  scores: Float32Array,
  k: number,
  candidates?: Int32Array,
  candidateCount = candidates ? candidates.length : scores.length,
  mask?: Uint8Array,
): Int32Array {
  const heapIdx = new Int32Array(k);
  const heapVal = new Float32Array(k);
  let size = 0;
  for (let c = 0; c < candidateCount; c++) {
    const i = candidates ? candidates[c] : c;
    if (mask && mask[i] === 0) continue;
    const s = scores[i];
    if (size < k) {
      // sift up
      let pos = size++;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if (heapVal[parent] <= s) break;
        heapVal[pos] = heapVal[parent];
        heapIdx[pos] = heapIdx[parent];
        pos = parent;
      }
      heapVal[pos] = s;
      heapIdx[pos] = i;
    } else if (s > heapVal[0]) {
      // replace root and sift down
      let pos = 0;
      for (;;) {
        const l = 2 * pos + 1;
        if (l >= size) break;
        const r = l + 1;
        const child = r < size && heapVal[r] < heapVal[l] ? r : l;
        if (heapVal[child] >= s) break;
        heapVal[pos] = heapVal[child];
        heapIdx[pos] = heapIdx[child];
        pos = child;
      }
      heapVal[pos] = s;
      heapIdx[pos] = i;
    }
  }
  const order = Array.from({ length: size }, (_, j) => j).sort(
    (a, b) => heapVal[b] - heapVal[a] || heapIdx[a] - heapIdx[b],
  );
  return Int32Array.from(order, (j) => heapIdx[j]);
}

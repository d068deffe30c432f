// device.ts: the library's one parser of device strings. 'cuda' is device 0 and
// 'cuda:N' device N (a decimal ordinal below 1000, no sign or leading zeros); the
// callers (model placement, the single ops) decide what else they take and word
// their own errors.

/** The CUDA device ordinal a device string names, or null when it names none. */
export function cudaOrdinal(d: unknown): number | null {
  if (d === 'cuda') return 0;
  const m = typeof d === 'string' ? /^cuda:(0|[1-9][0-9]{0,2})$/.exec(d) : null;
  return m ? Number(m[1]) : null;
}

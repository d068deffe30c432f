// progress.ts: download progress. A one-line bar on stderr, redrawn at most
// every 100 ms, only when stderr is a TTY (so logs and pipes stay clean), or
// the caller's callback. Format: `org/name model.safetensors  42% 1.2/2.9 MB 3.1 MB/s`.
import type { HubProgressEvent, HubSettings } from './settings';

export type ProgressSink = (loaded: number, total: number | undefined, done: boolean) => void;

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** One line of the bar; `elapsedMs` gives the rate. */
export function formatProgressLine(label: string, loaded: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? `${formatBytes((loaded * 1000) / elapsedMs)}/s` : '';
  if (total !== undefined && total > 0) {
    const pct = Math.min(100, Math.floor((loaded * 100) / total));
    const width = 20;
    const filled = Math.round((pct / 100) * width);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${formatBytes(loaded)}/${formatBytes(total)} ${rate}`;
  }
  return `${label} ${formatBytes(loaded)} ${rate}`;
}

export function progressSink(s: HubSettings, repoId: string, file: string): ProgressSink | undefined {
  const p = s.progress;
  if (typeof p === 'function') {
    return (loaded, total, done) => {
      const ev: HubProgressEvent = { repoId, file, loaded, total, done };
      p(ev);
    };
  }
  const stderr = process.stderr;
  if (p === false || (p === undefined && !stderr.isTTY)) return undefined;
  const start = Date.now();
  let last = 0;
  const label = `${repoId} ${file}`;
  return (loaded, total, done) => {
    const now = Date.now();
    if (!done && now - last < 100) return;
    last = now;
    const line = formatProgressLine(label, loaded, total, now - start);
    // \r and erase-to-end redraw in place on a terminal; a non-TTY (progress: true) gets one line per redraw.
    stderr.write(stderr.isTTY ? `\r${line}\x1b[K${done ? '\n' : ''}` : `${line}\n`);
  };
}

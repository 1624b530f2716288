import { processTime } from '../common/clock';

/**
 * A one-line status on standard error for long work (settlement close, reconciliation, statement
 * export): what is happening, a count when there is one, and the elapsed time, redrawn at most
 * 10 times a second. Only when standard error is a terminal: in a pipe, a file or CI it writes
 * nothing, so scripts see only the command's own output. A few lines rather than a library: the
 * maintained spinners (ora and its kin) are ESM-only and draw far more than this needs.
 */
export interface Progress {
  /** Names the current step (and resets nothing else). */
  step(label: string): void;
  /** Sets the count shown after the label, e.g. "12,345 lines". */
  count(text: string): void;
  /** Clears the line; call once when the work ends, successful or not. */
  done(): void;
}

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): boolean;
}

const REDRAW_MS = 100;

export function startProgress(label: string, stream: ProgressStream = process.stderr, now: () => number = processTime.ms): Progress {
  if (!stream.isTTY) return { step: () => undefined, count: () => undefined, done: () => undefined };
  const started = now();
  let current = label;
  let counted = '';
  let drawn = 0;
  const draw = (force = false) => {
    if (!force && now() - drawn < REDRAW_MS) return;
    drawn = now();
    const seconds = ((drawn - started) / 1000).toFixed(1);
    stream.write(`\r\x1b[2K${current}${counted ? ` ${counted}` : ''} (${seconds} s)`);
  };
  const timer = setInterval(() => draw(), REDRAW_MS * 5);
  timer.unref();
  draw(true);
  return {
    step(next) {
      current = next;
      draw(true);
    },
    count(text) {
      counted = text;
      draw();
    },
    done() {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}

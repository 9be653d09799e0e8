/** What a run tells the person watching it: which phase of which mode, and how it goes. */
export interface ProgressView {
  /** A phase begins: its mode, its name (`cost`, `fault store_down`) and how long it should take. */
  phase(mode: string, name: string, expectedMs: number): void;
  /** A result or a second of load. */
  line(text: string): void;
  /** The run ended: nothing more is drawn. */
  end(): void;
}

/** Plain lines, one per event: for a log, a test or CI (stderr is not a terminal). */
export function plainProgress(write: (text: string) => void): ProgressView {
  return {
    phase: (mode, name, expectedMs) => write(`${mode}: ${name} (${round(expectedMs / 1000)} s)\n`),
    line: (text) => write(`${text}\n`),
    end: () => {},
  };
}

const round = (seconds: number) => Math.round(seconds * 10) / 10;
const BAR_WIDTH = 24;
const REDRAW_MS = 200;

/**
 * One progress bar per phase, redrawn in place on a terminal: the mode and the phase, the time
 * gone against the time it should take, and the last second's counts. Results are printed above
 * it as lines; a finished phase's bar stays on the screen, full.
 */
export function barProgress(write: (text: string) => void, columns = 100): ProgressView {
  // A terminal that does not say how wide it is (0, as under `script`) gets a usual width.
  const width = columns >= 40 ? columns : 100;
  let current: { mode: string; name: string; expectedMs: number; started: number } | undefined;
  let detail = '';
  let timer: NodeJS.Timeout | undefined;
  const draw = (done: boolean) => {
    if (current === undefined) return;
    const elapsed = performance.now() - current.started;
    const share = done ? 1 : Math.min(1, elapsed / Math.max(current.expectedMs, 1));
    const filled = Math.round(share * BAR_WIDTH);
    const text =
      `${current.mode} · ${current.name} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` +
      `${round(elapsed / 1000)}/${round(current.expectedMs / 1000)} s ${detail}`;
    // \r and erase-line: the bar is redrawn where it is, never scrolled.
    write(`\r\u001b[2K${text.slice(0, width - 1)}`);
  };
  const finish = () => {
    if (current === undefined) return;
    draw(true);
    write('\n');
    current = undefined;
    detail = '';
  };
  return {
    phase(mode, name, expectedMs) {
      finish();
      current = { mode, name, expectedMs, started: performance.now() };
      timer ??= setInterval(() => draw(false), REDRAW_MS);
      timer.unref();
      draw(false);
    },
    line(text) {
      const second = /^\s+(\S+) (\S+) (t=\d+s ok=\d+ failed=\d+)$/.exec(text);
      if (second !== null && current !== undefined) {
        // Modes breaking side by side share one bar: the second's mode and fault are named on it.
        detail =
          second[1] === current.mode ? (second[3] as string) : `${second[1]} ${second[2]} ${second[3]}`;
        draw(false);
        return;
      }
      if (current === undefined) {
        write(`${text}\n`);
        return;
      }
      write(`\r\u001b[2K${text}\n`);
      draw(false);
    },
    end() {
      finish();
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

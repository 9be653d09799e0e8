import { describe, expect, it } from 'vitest';
import { barProgress, plainProgress } from '../src/progress.ts';

// What the person watching a run sees: a bar per phase on a terminal, plain lines elsewhere.
describe('progress views', () => {
  it('a terminal gets one bar per phase, redrawn in place, naming the mode and the fault', async () => {
    let screen = '';
    const view = barProgress((text) => {
      screen += text;
    }, 120);
    view.phase('token', 'fault store_down', 400);
    view.line('  token store_down t=0s ok=41 failed=0');
    await new Promise((resolve) => setTimeout(resolve, 450));
    view.line('token: store_down: 0 failed, credentials lost null, recovered after 0 s');
    view.phase('hybrid', 'cost', 1000);
    // Modes breaking side by side share a bar: a second of another mode names its mode and fault.
    view.phase('5 modes', 'faults side by side', 1000);
    view.line('  token-nocache key_rotated t=3s ok=30 failed=0');
    view.end();
    // Each redraw goes back to the start of the line and erases it: the bar never scrolls.
    const redraws = screen.split('\r\u001b[2K').filter((part) => part.startsWith('token · fault store_down'));
    expect(redraws.length).toBeGreaterThan(2);
    expect(redraws.at(-1)).toMatch(/^token · fault store_down \[#{24}\] [\d.]+\/0\.4 s t=0s ok=41 failed=0/);
    // A second's counts update the bar; a result is a line of its own above it.
    expect(screen).not.toContain('  token store_down t=0s');
    expect(screen).toContain('token: store_down: 0 failed, credentials lost null, recovered after 0 s\n');
    expect(screen).toContain('hybrid · cost [');
    expect(screen).toMatch(
      /5 modes · faults side by side \[[#.]{24}\] [\d.]+\/1 s token-nocache key_rotated t=3s ok=30 failed=0/,
    );
    expect(screen.endsWith('\n')).toBe(true);
  });

  it('a log gets plain lines, every second included, and no control characters', () => {
    const lines: string[] = [];
    const view = plainProgress((text) => lines.push(text));
    view.phase('session-redis', 'fault store_down', 4000);
    view.line('  session-redis store_down t=0s ok=41 failed=0');
    view.end();
    expect(lines).toEqual([
      'session-redis: fault store_down (4 s)\n',
      '  session-redis store_down t=0s ok=41 failed=0\n',
    ]);
  });
});

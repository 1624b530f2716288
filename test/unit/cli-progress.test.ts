import { startProgress } from '../../src/cli/progress';

/** The status line of long CLI work: drawn on a terminal only, and cleared when the work ends. */
function stream(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, written, write: (chunk: string) => written.push(chunk) > 0 };
}

describe('CLI progress', () => {
  it('writes nothing when standard error is not a terminal', () => {
    const out = stream(false);
    const progress = startProgress('closing period 7', out);
    progress.step('figures');
    progress.count('12 MB');
    progress.done();
    expect(out.written).toEqual([]);
  });

  it('on a terminal draws the step, the count and the elapsed time on one line, then clears it', () => {
    const out = stream(true);
    let now = 1_000;
    const progress = startProgress('exporting statement 3', out, () => now);
    now += 2_500;
    progress.count('1.5 MB');
    progress.done();
    expect(out.written).toEqual(['\r\x1b[2Kexporting statement 3 (0.0 s)', '\r\x1b[2Kexporting statement 3 1.5 MB (2.5 s)', '\r\x1b[2K']);
    expect(out.written.join('')).not.toContain('\n');
  });

  it('redraws a count at most ten times a second', () => {
    const out = stream(true);
    let now = 0;
    const progress = startProgress('exporting', out, () => now);
    for (let i = 0; i < 1_000; i++) {
      now += 1;
      progress.count(`${i} lines`);
    }
    progress.done();
    // The first draw, one every 100 ms over one second, and the clearing.
    expect(out.written.length).toBe(1 + 10 + 1);
  });
});

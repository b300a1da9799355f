/**
 * Read a child process's stdout line by line and wait for a line that matches: the one helper behind
 * the tests and the chaos suite that drive real `conveyor run` processes.
 */
import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';

/** Lines seen so far, stderr kept (bounded), and `waitFor(re)`. */
export interface ChildLines {
  readonly lines: string[];
  stderr(): string;
  /**
   * The first line (seen or to come) that matches `re`. A guard, not a timing assertion: after
   * `timeoutMs` it rejects with what the process printed, instead of hanging the test.
   */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Watch `child`'s stdout and stderr (the child must be spawned with `stdio` pipes). */
export function childLines(child: ChildProcess, label = `process ${child.pid}`): ChildLines {
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve(m: RegExpMatchArray): void }[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      const m = line.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  return {
    lines,
    stderr: () => stderr,
    waitFor: (re, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const m = lines.map((l) => l.match(re)).find(Boolean);
        if (m) return resolve(m);
        const guard = setTimeout(
          () =>
            reject(
              new Error(
                `${label} never printed ${re} within ${timeoutMs} ms; stdout: ${lines.slice(-20).join(' | ')}; stderr: ${stderr.slice(-2000)}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (x) => {
            clearTimeout(guard);
            resolve(x);
          },
        });
      }),
  };
}

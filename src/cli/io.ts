/** Where a command writes, and the exit code it chose: injected so commands run in-process in tests too. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  exitCode: number;
}

export function processIo(): Io {
  return {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    exitCode: 0,
  };
}

/**
 * Writing to stdout before the CLI exits: process.exit() does not wait for a pipe to take what
 * was written, so a command that prints more than a pipe's buffer (64 KiB) awaits this. A reader
 * that stops early (`| head`) ends the command quietly.
 */
let guarded = false;

export function writeOut(data: string | Uint8Array): Promise<void> {
  if (!guarded) {
    guarded = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
    });
  }
  return new Promise((resolve, reject) => {
    process.stdout.write(data, (e) =>
      e && (e as NodeJS.ErrnoException).code !== 'EPIPE' ? reject(e) : resolve(),
    );
  });
}

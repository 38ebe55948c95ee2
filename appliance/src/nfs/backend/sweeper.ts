/**
 * Runs `task` every `everyMs` on an unref'd timer (it never keeps the
 * process alive), skipping a tick while the previous run is still going;
 * a failed run is tried again at the next tick. For the native backends'
 * fd-cache sweeps (files deleted behind the server's back).
 */
export function startSweeper(everyMs: number, task: () => Promise<unknown>): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task().then(
      () => (running = false),
      () => (running = false),
    );
  }, everyMs);
  timer.unref();
  return timer;
}

/**
 * systemd integration (sd_notify(3)): READY, STATUS and WATCHDOG through the
 * native module. Every call is a no-op when cairnd does not run under
 * systemd ($NOTIFY_SOCKET unset). A failed notification is logged, never
 * fatal: the daemon keeps serving.
 */
import { sdNotify } from '@cairn/native';
import type { Logger } from '../log.js';

export class Systemd {
  private watchdogTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly send: (state: string) => boolean = sdNotify,
  ) {}

  notify(state: string): boolean {
    try {
      return this.send(state);
    } catch (e) {
      this.log.warn({ err: e, state }, 'sd_notify failed');
      return false;
    }
  }

  ready(status: string): boolean {
    return this.notify(`READY=1\nSTATUS=${oneLine(status)}\nMAINPID=${process.pid}`);
  }

  status(status: string): boolean {
    return this.notify(`STATUS=${oneLine(status)}`);
  }

  stopping(status = 'stopping'): boolean {
    return this.notify(`STOPPING=1\nSTATUS=${oneLine(status)}`);
  }

  /**
   * Pings WATCHDOG=1 at half the interval systemd asked for in
   * $WATCHDOG_USEC (only when $WATCHDOG_PID is unset or ours). The timer
   * runs on the event loop, so a stuck loop stops the pings and systemd
   * restarts the daemon — which is the point.
   */
  startWatchdog(env: NodeJS.ProcessEnv = process.env): number | undefined {
    const usec = Number(env.WATCHDOG_USEC);
    if (!Number.isFinite(usec) || usec <= 0) return undefined;
    if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return undefined;
    const everyMs = Math.max(1, Math.floor(usec / 2000));
    this.stopWatchdog();
    this.watchdogTimer = setInterval(() => this.notify('WATCHDOG=1'), everyMs);
    this.watchdogTimer.unref();
    this.notify('WATCHDOG=1');
    return everyMs;
  }

  stopWatchdog(): void {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
  }
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

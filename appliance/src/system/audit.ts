/**
 * The audit log: one structured line per change of the appliance (who,
 * what, which state revision) and per security event (login, failed login,
 * token created or revoked, setup). Written to the daemon log (msg "audit")
 * and appended to DATA_DIR/audit.log as JSON lines. Never carries secrets.
 */
import { appendFile } from 'node:fs/promises';
import type { Logger } from '../log.js';

export interface AuditEvent {
  who: string;
  action: string;
  revision?: number;
  target?: string;
  outcome?: 'ok' | 'denied' | 'failed';
  detail?: string;
  ip?: string;
}

export class Audit {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly log: Logger,
    private readonly file?: string,
  ) {}

  record(ev: AuditEvent): void {
    const line = { at: new Date().toISOString(), outcome: 'ok' as const, ...ev };
    this.log.info({ audit: line }, 'audit');
    if (this.file) {
      const file = this.file;
      this.queue = this.queue
        .then(() => appendFile(file, `${JSON.stringify(line)}\n`, { mode: 0o600 }))
        .catch((err: unknown) => this.log.warn({ err }, 'audit log write failed'));
    }
  }

  flush(): Promise<unknown> {
    return this.queue;
  }
}

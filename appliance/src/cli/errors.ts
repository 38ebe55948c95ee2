/**
 * An error the operator can fix: printed as one line (what is wrong, and
 * how to fix it) and the process exits with `exitCode`, without a stack.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes from sysexits.h, which systemd and scripts understand. */
export const EXIT = {
  usage: 64,
  config: 78,
  cantCreate: 73,
  unavailable: 69,
  software: 70,
} as const;

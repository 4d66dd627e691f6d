// Whether the decision log can be written. Nothing is acted on without its record, so a decision log that cannot be
// written (disk full, read-only volume, I/O error) stops the guard deciding: that must not be silent. While it lasts
// the daemon is not ready, /health says why, and people are paged once, directly (the outbox is in the same file).
import type { Logger } from 'pino';

export interface DecisionLogTrouble {
  since: number;
  error: string;
}

export class DecisionLogHealth {
  private trouble: DecisionLogTrouble | undefined;

  constructor(
    private readonly o: {
      now: () => number;
      log: Logger;
      /** Told once when writing starts failing, and once when it works again (the direct page and its resolve). */
      onChange: (state: 'unwritable' | 'writable', detail: string, since: number) => void;
    },
  ) {}

  /** The current trouble, or undefined while the log is written normally. */
  get unwritable(): DecisionLogTrouble | undefined {
    return this.trouble;
  }

  failed(err: Error): void {
    if (this.trouble) {
      this.trouble.error = err.message;
      return;
    }
    this.trouble = { since: this.o.now(), error: err.message };
    this.o.log.error({ error: err.message }, 'the decision log cannot be written: nothing is decided or reverted until it can; not ready, paging directly');
    this.o.onChange('unwritable', err.message, this.trouble.since);
  }

  wrote(): void {
    const t = this.trouble;
    if (!t) return;
    this.trouble = undefined;
    this.o.log.warn({ unwritableForSeconds: Math.round((this.o.now() - t.since) / 1000) }, 'the decision log is writable again; deciding again');
    this.o.onChange('writable', t.error, t.since);
  }
}

/**
 * The lifecycle every long-lived piece of work follows (retention timers,
 * TCP/TLS listeners, outbound peer sessions): the gateway starts them in
 * order after KV is open and stops them in reverse order before KV closes.
 */
export interface Service {
  start(): void | Promise<void>;
  /** Stops the work and waits for what is in flight; safe to call twice. */
  stop(): Promise<void>;
}

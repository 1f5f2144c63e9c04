/**
 * What the live hub carries and to whom: an event on a channel, and a
 * subscriber's end (a Sink) that takes the events it wants.
 */

/** One event: a channel, the attributes filters look at, and its JSON frame. */
export interface LiveEvent {
  channel: string;
  attrs: Record<string, string>;
  json: string;
}

/**
 * A subscriber's transport (a WebSocket, an SSE stream): says which events
 * it wants, takes them, and tells how much it still holds.
 */
export interface Sink {
  matches(event: LiveEvent): boolean;
  /** Bytes handed to the transport that have not left yet, as far as it can tell. */
  buffered(): number;
  /** Hands the transport one event; never throws. */
  send(event: LiveEvent): void;
  /** Ends the subscription with a reason a person can read. */
  close(reason: string): void;
}

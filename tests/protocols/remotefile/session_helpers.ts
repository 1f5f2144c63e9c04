/** Wires two sessions back to back in memory, for session tests. */
import { concat } from "../../../lib/bytes.ts";
import type {
  RemoteFileSession,
  SessionEvent,
  SessionOutput,
} from "../../../protocols/remotefile/session.ts";

export type Side = "client" | "server";

/** Two sessions and the events each reported, delivered until both are quiet. */
export class Link {
  readonly events: Record<Side, SessionEvent[]> = { client: [], server: [] };
  /** Every message body-with-header each side sent, in order. */
  readonly sent: Record<Side, Uint8Array[]> = { client: [], server: [] };

  constructor(readonly client: RemoteFileSession, readonly server: RemoteFileSession) {}

  /** Records `out` as produced by `from`, then delivers everything until nothing is left. */
  run(from: Side, out: SessionOutput): this {
    this.events[from].push(...out.events);
    const queue: [Side, Uint8Array[]][] = [[from, out.send]];
    for (let n = 0; queue.length > 0; n++) {
      if (n > 10_000) throw new Error("Sessions did not go quiet");
      const [sender, send] = queue.shift()!;
      if (send.length === 0) continue;
      this.sent[sender].push(...send);
      const to: Side = sender === "client" ? "server" : "client";
      const res = this[to].receive(concat(send));
      this.events[to].push(...res.events);
      queue.push([to, res.send]);
    }
    return this;
  }

  /** client.start() and deliver: the handshake. */
  connect(): this {
    this.run("server", this.server.start());
    return this.run("client", this.client.start());
  }

  /** Events of one side, of one type, then cleared. */
  take<T extends SessionEvent["type"]>(side: Side, type?: T): Extract<SessionEvent, { type: T }>[] {
    const all = this.events[side];
    const picked = type ? all.filter((e) => e.type === type) : all;
    this.events[side] = type ? all.filter((e) => e.type !== type) : [];
    return picked as Extract<SessionEvent, { type: T }>[];
  }

  clear(): void {
    this.events.client = [];
    this.events.server = [];
    this.sent.client = [];
    this.sent.server = [];
  }
}

/** Event types in order, for compact assertions. */
export const types = (events: SessionEvent[]) => events.map((e) => e.type);

/**
 * The live sessions of this process, by id, so that a route can reach one
 * (its status, or the session itself to send on it): outbound
 * ReconnectingSessions and inbound PeerConnections alike; anything with a
 * `status`.
 *
 * Ids are 128 random bits as 0x-hex unless the caller names the session
 * (say, by its configured peer name). Not sequence numbers: those start over
 * at 1 after a restart and in every isolate, so an id a client kept would
 * silently reach another session; a random id that is gone is a clean
 * NotFoundError. They also cannot be enumerated. The registry is in-process
 * state, like the sockets it points to: nothing in it must outlive a restart.
 *
 * @example
 * ```ts
 * const registry = new SessionRegistry<PeerConnection>();
 * using reg = registry.register(conn);    // unregistered when the scope ends
 * registry.get(reg.id).status;            // NotFoundError once it is gone
 * registry.list();                        // [{ id: "0x…", status: { remote: "tcp …", … } }]
 * ```
 */
import { toHex0x } from "../lib/bytes.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../lib/errors.ts";

/** What the registry can list: anything that reports a status. */
export interface HasStatus {
  readonly status: unknown;
}

/** A registered session; unregister (or dispose) when it ends. */
export interface Registration extends Disposable {
  readonly id: string;
  unregister(): void;
}

/** An id callers may choose: 1–128 characters of letters, digits and `._:-`. */
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A fresh random id: 16 random bytes as 0x-hex. */
export function randomSessionId(): string {
  return toHex0x(crypto.getRandomValues(new Uint8Array(16)));
}

export class SessionRegistry<T extends HasStatus> {
  #sessions = new Map<string, T>();

  /**
   * Adds a session under `id`, or a fresh random id. Throws ConflictError if
   * the id is taken, InvalidInputError if it is malformed.
   */
  register(session: T, opts: { id?: string } = {}): Registration {
    let id = opts.id;
    if (id === undefined) {
      do {
        id = randomSessionId();
      } while (this.#sessions.has(id));
    } else if (!ID.test(id)) {
      throw new InvalidInputError("id", `"${id}" must be 1–128 letters, digits or ._:-`);
    } else if (this.#sessions.has(id)) {
      throw new ConflictError(`Session "${id}" is already registered`);
    }
    this.#sessions.set(id, session);
    const unregister = () => {
      // Only this registration: the id may have been taken again since.
      if (this.#sessions.get(id) === session) this.#sessions.delete(id);
    };
    return { id, unregister, [Symbol.dispose]: unregister };
  }

  /** Removes a session; false if there was none under `id`. */
  unregister(id: string): boolean {
    return this.#sessions.delete(id);
  }

  /** The session under `id`; NotFoundError if there is none. */
  get(id: string): T {
    const session = this.#sessions.get(id);
    if (session === undefined) throw new NotFoundError(`No session "${id}"`);
    return session;
  }

  /** The session under `id`, or undefined. */
  find(id: string): T | undefined {
    return this.#sessions.get(id);
  }

  /** Every session with its status now, in the order they were registered. */
  list(): { id: string; status: T["status"] }[] {
    return [...this.#sessions].map(([id, s]) => ({ id, status: s.status }));
  }

  get size(): number {
    return this.#sessions.size;
  }
}

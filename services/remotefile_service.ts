/**
 * The RemoteFile bridge's long-lived work: listeners (TCP and a unix
 * socket) whose every accepted connection is a link, the client links
 * users created (each with its reconnect loop), and the way routes reach
 * any of them.
 *
 * Client connections are stored, and their reconnect loops run in one
 * process at a time: the holder of the lease "remotefile-clients" starts a
 * loop for every stored client connection (a pass every second picks up
 * connections created or deleted by another process), and stops them all
 * when it loses the lease. A connection served by another process, or
 * closed, is still readable here from the store, as last saved; writing to
 * it needs the process that holds its socket (503 elsewhere).
 */
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  TooLargeError,
  UnavailableError,
} from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";
import { numHeaderFrame } from "../protocols/remotefile/num_header.ts";
import type { Store } from "../storage/kv.ts";
import { RemoteFileRepo, type StoredConnection } from "../storage/remotefile_repo.ts";
import { type ExclusiveJob, runUnderLease } from "./exclusive_job.ts";
import type { LiveHub } from "./live_hub.ts";
import { describeAddress, type PeerAddress, type PeerConnection } from "./peer_connection.ts";
import { PeerListener } from "./peer_listener.ts";
import type { ReconnectingSession } from "./reconnecting_session.ts";
import { ApxView } from "./remotefile_apx.ts";
import { clientRunner, type ClientTiming } from "./remotefile_client.ts";
import { FileCopies } from "./remotefile_files.ts";
import { type LinkLimits, type LinkState, RemoteFileLink } from "./remotefile_link.ts";
import { peerAllowed, type PeerRule } from "./remotefile_peers.ts";
import type { Service } from "./service.ts";
import { randomSessionId, SessionRegistry } from "./session_registry.ts";

export interface RemoteFileServiceOptions {
  /** TCP address to listen on; none = no TCP listener. */
  listen?: { hostname: string; port: number };
  /** Unix socket path to listen on; none = no socket. */
  socket?: string;
  /** Where client connections may go (see remotefile_peers.ts). */
  peers: readonly PeerRule[];
  /** Accepted connections open at once (per listener). */
  maxAccepted: number;
  /** Client connections that may exist. */
  maxClients: number;
  /** Closed accepted connections kept in the store (newest first). */
  keepClosed: number;
  limits: LinkLimits;
  timing: ClientTiming;
  saveIntervalMs: number;
  store: Store;
  hub: LiveHub;
  metrics: Metrics;
  log: Logger;
}

/** A connection as the list shows it. */
export interface ConnectionSummary {
  id: string;
  kind: "client" | "accepted";
  peer: string;
  state: LinkState;
  /** Unix ms of the last state change. */
  since: number;
  lastError?: string;
  /** Served by this process now (else: as last stored). */
  live: boolean;
  bytesRead?: number;
  bytesWritten?: number;
}

/** A connection to read: its summary, files and APX view, live or as stored. */
export interface ConnectionView {
  summary: ConnectionSummary;
  files: FileCopies;
  apx: ApxView;
}

/** How often the lease holder looks for client connections created or deleted elsewhere. */
const CLIENT_PASS_MS = 1000;

export class RemoteFileService implements Service {
  readonly repo: RemoteFileRepo;
  readonly #links = new SessionRegistry<RemoteFileLink>();
  readonly #runners = new Map<string, ReconnectingSession>();
  readonly #listeners: PeerListener[] = [];
  readonly #clients: ExclusiveJob;
  #tenure?: AbortSignal;
  #stoppingRunners?: Promise<void>;

  constructor(private readonly opts: RemoteFileServiceOptions) {
    this.repo = new RemoteFileRepo(opts.store);
    const addresses: PeerAddress[] = [];
    if (opts.listen) addresses.push({ transport: "tcp", ...opts.listen });
    if (opts.socket) addresses.push({ transport: "unix", path: opts.socket });
    for (const address of addresses) {
      this.#listeners.push(
        new PeerListener({
          name: "remotefile",
          address,
          frameHeader: numHeaderFrame(32),
          maxFrameBytes: opts.limits.maxMessageBytes,
          readTimeoutMs: opts.timing.readTimeoutMs,
          // RemoteFile never hands its stream on, and its deltas are a few bytes each.
          bufferedReads: true,
          maxConnections: opts.maxAccepted,
          log: opts.log,
          metrics: opts.metrics,
        }, (conn) => this.#accepted(conn)),
      );
    }
    this.#clients = runUnderLease(opts.store, {
      name: "remotefile-clients",
      intervalMs: CLIENT_PASS_MS,
      job: (signal) => this.#clientPass(signal),
      log: opts.log,
    });
  }

  async start(): Promise<void> {
    for (const l of this.#listeners) await l.start();
    this.#clients.start();
  }

  async stop(): Promise<void> {
    await this.#clients.stop(); // its tenure's end stops every client loop
    await this.#stopRunners();
    for (const l of this.#listeners) await l.stop();
  }

  /** Where the listeners are (with the bound port). */
  listeners(): PeerAddress[] {
    return this.#listeners.map((l) => l.address);
  }

  // ---- reading ----

  /** Every connection: those live here, then the stored ones that are not. */
  async list(): Promise<ConnectionSummary[]> {
    const live = this.#links.list().map(({ status }) => ({ ...status, live: true }));
    const here = new Set(live.map((s) => s.id));
    const stored = (await this.repo.listConnections()).filter((r) => !here.has(r.id));
    return [...live, ...stored.map(storedSummary)];
  }

  /** Throws NotFoundError unless the connection exists (here or in the store). */
  async mustExist(id: string): Promise<void> {
    if (this.#links.find(id) || await this.repo.getConnection(id)) return;
    throw new NotFoundError(`No RemoteFile connection "${id}"`);
  }

  /** One connection to read. NotFoundError if there is none. */
  async view(id: string): Promise<ConnectionView> {
    const link = this.#links.find(id);
    if (link) return { summary: { ...link.status, live: true }, files: link.files, apx: link.apx };
    const rec = await this.repo.getConnection(id);
    if (!rec) throw new NotFoundError(`No RemoteFile connection "${id}"`);
    const files = FileCopies.from(await this.repo.loadFiles(id));
    return {
      summary: storedSummary(rec),
      files,
      apx: new ApxView(files, this.opts.limits.definition),
    };
  }

  /** A connection this process serves, to act on. NotFoundError, or UnavailableError if elsewhere. */
  async link(id: string): Promise<RemoteFileLink> {
    const link = this.#links.find(id);
    if (link) return link;
    const rec = await this.repo.getConnection(id);
    if (!rec) throw new NotFoundError(`No RemoteFile connection "${id}"`);
    if (rec.kind === "accepted") {
      throw new ConflictError(
        `RemoteFile connection "${id}" is closed (${rec.lastError ?? "ended"})`,
      );
    }
    throw new UnavailableError(
      `RemoteFile connection "${id}" is served by another gateway process sharing this store`,
      { retryAfterSeconds: 1 },
    );
  }

  // ---- client connections ----

  /** Creates a client connection (stored, then connected with retries). Returns its id. */
  async connect(address: PeerAddress): Promise<string> {
    if (!peerAllowed(this.opts.peers, address)) {
      // Known and well-formed, but not allowed: a refusal of who, not a clash with state.
      throw new ForbiddenError(
        `${
          describeAddress(address)
        } is not in SYNCGATE_REMOTEFILE_PEERS (default: loopback TCP only)`,
      );
    }
    const clients = (await this.repo.listConnections()).filter((r) => r.kind === "client");
    if (clients.length >= this.opts.maxClients) {
      throw new TooLargeError("client connections", clients.length + 1, this.opts.maxClients);
    }
    const now = Date.now();
    const rec: StoredConnection = {
      id: randomSessionId(),
      kind: "client",
      address,
      peer: describeAddress(address),
      state: "connecting",
      createdAt: now,
      updatedAt: now,
    };
    await this.repo.putConnection(rec);
    if (this.#tenure && !this.#tenure.aborted) this.#startClient(rec, new FileCopies());
    return rec.id;
  }

  /** Deletes a connection: a client one stops for good; an accepted one is closed. */
  async remove(id: string): Promise<void> {
    const link = this.#links.find(id);
    const rec = link ? link.record() : await this.repo.getConnection(id);
    if (!rec) throw new NotFoundError(`No RemoteFile connection "${id}"`);
    await this.#stopClient(id);
    await this.repo.deleteConnection(id);
  }

  /** One pass of the lease holder: run a loop for every stored client connection, and no other. */
  async #clientPass(signal: AbortSignal): Promise<void> {
    if (this.#tenure !== signal) {
      this.#tenure = signal;
      signal.addEventListener("abort", () => void this.#stopRunners(), { once: true });
    }
    const stored = (await this.repo.listConnections()).filter((r) => r.kind === "client");
    const ids = new Set(stored.map((r) => r.id));
    for (const id of [...this.#runners.keys()]) {
      if (!ids.has(id)) await this.#stopClient(id);
    }
    for (const rec of stored) {
      if (signal.aborted) return;
      if (this.#runners.has(rec.id)) continue;
      this.#startClient(rec, FileCopies.from(await this.repo.loadFiles(rec.id)));
    }
  }

  #startClient(rec: StoredConnection, files: FileCopies): void {
    if (this.#runners.has(rec.id)) return;
    const link = this.#newLink(rec, files);
    this.#links.register(link, { id: rec.id });
    const runner = clientRunner(
      link,
      this.opts.limits.maxMessageBytes,
      this.opts.timing,
      this.opts.log,
    );
    this.#runners.set(rec.id, runner);
    runner.start();
  }

  /** Stops a link served here (a client's loop first): it saves what it has and writes no more. */
  async #stopClient(id: string): Promise<void> {
    const runner = this.#runners.get(id);
    const link = this.#links.find(id);
    this.#runners.delete(id);
    this.#links.unregister(id);
    link?.stopSaving();
    await runner?.stop();
    await link?.stop();
  }

  /** Stops every client loop (once at a time: the lease's end and stop() may both ask). */
  #stopRunners(): Promise<void> {
    this.#stoppingRunners ??= Promise.all(
      [...this.#runners.keys()].map((id) => this.#stopClient(id)),
    ).then(() => this.#stoppingRunners = undefined);
    return this.#stoppingRunners;
  }

  // ---- accepted connections ----

  async #accepted(conn: PeerConnection): Promise<void> {
    const now = Date.now();
    const link = this.#newLink({
      id: randomSessionId(),
      kind: "accepted",
      peer: describeAddress(conn.remoteAddr),
      state: "greeting",
      createdAt: now,
      updatedAt: now,
    }, new FileCopies());
    using _reg = this.#links.register(link, { id: link.id });
    await this.repo.putConnection(link.record());
    await link.serve(conn);
    await this.#pruneClosed().catch((e) => {
      this.opts.log.warn("pruning closed RemoteFile connections failed", { error: e });
    });
  }

  /** Keeps the newest `keepClosed` closed accepted connections in the store. */
  async #pruneClosed(): Promise<void> {
    const closed = (await this.repo.listConnections())
      .filter((r) => r.kind === "accepted" && r.closedAt !== undefined && !this.#links.find(r.id))
      .sort((a, b) => b.closedAt! - a.closedAt!);
    for (const r of closed.slice(this.opts.keepClosed)) await this.repo.deleteConnection(r.id);
  }

  #newLink(rec: StoredConnection, files: FileCopies): RemoteFileLink {
    return new RemoteFileLink({
      id: rec.id,
      kind: rec.kind,
      peer: rec.peer,
      address: rec.address,
      createdAt: rec.createdAt,
      limits: this.opts.limits,
      saveIntervalMs: this.opts.saveIntervalMs,
      repo: this.repo,
      hub: this.opts.hub,
      log: this.opts.log,
    }, files);
  }
}

function storedSummary(r: StoredConnection): ConnectionSummary {
  return {
    id: r.id,
    kind: r.kind,
    peer: r.peer,
    state: r.state as LinkState,
    since: r.updatedAt,
    ...(r.lastError ? { lastError: r.lastError } : {}),
    live: false,
  };
}

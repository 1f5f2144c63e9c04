/**
 * MVDS and remote logs on a real KV file: a backed group appends every
 * message sent with its id as localHash (and nothing sent before, nor in
 * other groups); an append that fails, or a process that dies between the
 * send's commit and the append, is repaired from the marker by the drain,
 * once; catch-up stores only entries that are messages of the group with
 * their own id, ACKs them to the log's writer, resumes where it stopped and
 * bounds its work; the writer is inferred for a log written here; `from`
 * must be a configured peer's gateway.
 */
import assert from "node:assert/strict";
import { toHex0x } from "../../lib/bytes.ts";
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  UnavailableError,
} from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { decodeMessage, encodeMessage } from "../../protocols/mvds/message_codec.ts";
import { messageId } from "../../protocols/mvds/message_id.ts";
import { decodePayload, type Message } from "../../protocols/mvds/proto.ts";
import { LiveHub, LocalNotifier } from "../../services/live_hub.ts";
import { MvdsRemoteLogBacking } from "../../services/mvds_remote_log.ts";
import { MvdsCatchUp } from "../../services/mvds_remote_log_catch_up.ts";
import { MvdsService } from "../../services/mvds_service.ts";
import { RemoteLogService } from "../../services/remote_log_service.ts";
import { BlobStore } from "../../storage/blob_store.ts";
import { openStore, type Store } from "../../storage/kv.ts";
import { MvdsRemoteLogRepo } from "../../storage/mvds_remote_log_repo.ts";
import { MvdsRepo } from "../../storage/mvds_repo.ts";
import { tempDir } from "../temp_dir.ts";

const G = new Uint8Array([0x67, 0x01]);
const H = new Uint8Array([0x68, 0x02]);
const text = (s: string) => new TextEncoder().encode(s);
const log = createLogger("silent");
const clock = { ms: 1_700_000_000_000 };
const stream = (b: Uint8Array) => new Blob([b as Uint8Array<ArrayBuffer>]).stream();

/** A remote log service whose appends fail while `failing` is set (a log that is away). */
class FlakyLogs extends RemoteLogService {
  failing = false;
  override append(...args: Parameters<RemoteLogService["append"]>) {
    if (this.failing) return Promise.reject(new UnavailableError("The store failed: test"));
    return super.append(...args);
  }
}

interface Env {
  store: Store;
  mvds: MvdsService;
  logs: FlakyLogs;
  backing: MvdsRemoteLogBacking;
  catchUp: MvdsCatchUp;
  /** Another process on the same KV: no listener, so it sends like one that died after the commit. */
  other: MvdsService;
}

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir();
  const store = await openStore(`${dir}/test.kv`, createMetrics());
  try {
    const hub = new LiveHub(new LocalNotifier(), createMetrics());
    const service = () =>
      new MvdsService(new MvdsRepo(store), hub, {
        maxMessageBytes: 1024,
        now: () => clock.ms,
        log,
      });
    const mvds = service();
    const logs = new FlakyLogs(store, new BlobStore(store), hub, {
      maxEntryBytes: 1 << 20,
      recordLifetimeMs: 86_400_000,
      recordTtlMs: 60_000,
    });
    const repo = new MvdsRemoteLogRepo(store);
    const backing = new MvdsRemoteLogBacking(mvds, logs, repo, { log, now: () => clock.ms });
    backing.attach();
    const catchUp = new MvdsCatchUp(mvds, logs, repo, {
      mirror: () => {
        throw new Error("this test mirrors nothing");
      },
      log,
    });
    await fn({ store, mvds, logs, backing, catchUp, other: service() });
  } finally {
    store.kv.close();
    await cleanup();
  }
}

/** Every entry of a log, oldest first. */
async function entries(logs: RemoteLogService, name: string) {
  return (await logs.entries(name, undefined, 1000)).entries;
}

Deno.test("mvds remote log: a backed group appends every message sent, with its id", async () => {
  await withEnv(async ({ mvds, logs, backing }) => {
    const { id: node } = await mvds.createNode({ mode: "batch" });
    const before = await mvds.sendMessage(node, G, text("before the backing"));
    const made = await backing.back(node, G, { mode: "paged", pageSize: 3 });
    assert.equal(made.created, true);
    const again = await backing.back(node, G, { mode: "paged", pageSize: 3 });
    assert.deepEqual([again.created, again.backing.name], [false, made.backing.name]);
    await assert.rejects(backing.back(node, G, { mode: "linked" }), ConflictError);
    await assert.rejects(backing.back(node, G, { mode: "paged", pageSize: 4 }), ConflictError);

    const sent = [];
    for (let i = 0; i < 7; i++) sent.push(await mvds.sendMessage(node, G, text(`m${i}`)));
    await mvds.sendMessage(node, H, text("another group"));
    assert.equal((await mvds.sendMessage(node, G, text("m0"), sent[0].timestamp)).created, false);

    const got = await entries(logs, made.backing.name);
    assert.deepEqual(got.map((e) => toHex0x(e.localHash)), sent.map((s) => toHex0x(s.id)));
    for (const [i, e] of got.entries()) {
      const m = decodeMessage(e.data);
      assert.deepEqual(messageId(m), e.localHash, "a reader recomputes the id");
      assert.deepEqual([m.groupId, m.timestamp, m.body], [G, sent[i].timestamp, text(`m${i}`)]);
    }
    assert.ok(!got.some((e) => toHex0x(e.localHash) === toHex0x(before.id)));
    const view = await backing.show(node, G);
    assert.deepEqual([view.info.count, view.pending, view.backing.mode], [7, 0, "paged"]);
  });
});

Deno.test("mvds remote log: failed and crash-cut appends are repaired from their markers, once", async () => {
  await withEnv(async ({ mvds, logs, backing, other }) => {
    const { id: node } = await mvds.createNode({ mode: "batch" });
    const { backing: b } = await backing.back(node, G, { mode: "linked" });

    // The log is away: the sends succeed, the appends wait as markers.
    logs.failing = true;
    for (let i = 0; i < 3; i++) await mvds.sendMessage(node, G, text(`while away ${i}`));
    assert.deepEqual([(await backing.show(node, G)).pending, (await logs.info(b.name)).sequence], [
      3,
      0n,
    ]);
    logs.failing = false;
    assert.deepEqual(await backing.drain({ minAgeMs: 60_000 }), { appended: 0, failed: 0 });
    clock.ms += 60_000;
    assert.deepEqual(await backing.drain({ minAgeMs: 60_000 }), { appended: 3, failed: 0 });

    // A process that died after the send's commit: the marker is there, the append is not.
    const cut = await other.sendMessage(node, G, text("crash before the append"));
    // One that died after the append, before deleting the marker: appended twice is kept once.
    const half = await other.sendMessage(node, G, text("crash after the append"));
    const stored = (await mvds.repo.message(node, half.id))!;
    await logs.append(b.name, b.writeToken, stream(encodeMessage(stored)), half.id);
    assert.equal((await backing.show(node, G)).pending, 2);
    assert.deepEqual(await backing.drain({ minAgeMs: 0 }), { appended: 2, failed: 0 });

    const view = await backing.show(node, G);
    assert.deepEqual([view.pending, view.info.count], [0, 5]);
    const ids = (await entries(logs, b.name)).map((e) => toHex0x(e.localHash));
    assert.ok(ids.includes(toHex0x(cut.id)) && ids.includes(toHex0x(half.id)));
    assert.equal(new Set(ids).size, 5);
  });
});

Deno.test("mvds catch-up: only messages of the group with their own id are stored, ACKed, and it resumes", async () => {
  await withEnv(async ({ mvds, logs, catchUp }) => {
    const { id: node } = await mvds.createNode({ mode: "batch" });
    const writer = crypto.getRandomValues(new Uint8Array(32));
    await mvds.addPeer(node, writer);
    await mvds.addGroupPeer(node, G, writer);
    // A log written elsewhere (here by the service itself, not for an MVDS node).
    const log = await logs.create("paged", 2);
    const put = (data: Uint8Array, localHash: Uint8Array) =>
      logs.append(log.name, log.writeToken, stream(data), localHash);
    const msg = (s: string, group = G): Message => ({
      groupId: group,
      timestamp: 1n,
      body: text(s),
    });
    const good = async (s: string) => {
      const m = msg(s);
      await put(encodeMessage(m), messageId(m));
      return messageId(m);
    };
    const ids = [await good("one"), await good("two")];
    await put(encodeMessage(msg("wrong id")), crypto.getRandomValues(new Uint8Array(32)));
    const other = msg("wrong group", H);
    await put(encodeMessage(other), messageId(other));
    await put(text("no message at all"), crypto.getRandomValues(new Uint8Array(32)));

    const run = (over: Partial<Parameters<MvdsCatchUp["catchUp"]>[2]> = {}) =>
      catchUp.catchUp(node, G, { name: log.name, peer: writer, limit: 1000, ...over });
    await assert.rejects(run({ peer: undefined }), InvalidInputError, "the writer is required");
    await assert.rejects(run({ peer: new Uint8Array(32).fill(9) }), InvalidInputError);

    const first = await run();
    assert.deepEqual(
      [first.fetched, first.stored, first.skipped, first.invalid, first.next],
      [5, 2, 0, 3, undefined],
    );
    const held = await mvds.listMessages(node, G, undefined, 100);
    assert.deepEqual(held.map((m) => toHex0x(m.id)), ids.map(toHex0x));
    assert.ok(held.every((m) => toHex0x(m.message.from!) === toHex0x(writer)));
    assert.equal(await mvds.repo.message(node, messageId(other)), null, "wrong group: not stored");
    // The writer gets ACKs for what was stored, in the node's next payload to it.
    const payload = decodePayload((await mvds.tickPeer(node, writer))!);
    assert.deepEqual(payload.acks.map(toHex0x).sort(), ids.map(toHex0x).sort());

    // Resume: only entries newer than the last catch-up are read.
    const three = await good("three");
    const second = await run();
    assert.deepEqual([second.fetched, second.stored], [1, 1]);
    assert.deepEqual(second.last, three);
    assert.deepEqual([(await run()).fetched, (await run()).last], [0, three]);

    // Bounded: `next` says more follow, and the next request goes on from there.
    for (const s of ["4", "5", "6", "7", "8"]) await good(s);
    const part = await run({ limit: 2 });
    assert.deepEqual([part.fetched, part.stored, !!part.next], [2, 2, true]);
    const rest = await run({ limit: 2000 });
    assert.deepEqual([rest.fetched, rest.stored, rest.next], [3, 3, undefined]);

    // From the start again: what is held is skipped, what is invalid stays invalid.
    const again = await run({ restart: true });
    assert.deepEqual([again.fetched, again.stored, again.skipped, again.invalid], [11, 0, 8, 3]);
    assert.equal((await mvds.nodeInfo(node)).counts.messages, 8);
  });
});

Deno.test("mvds catch-up: from a log written here for a peer node, whose records end acked", async () => {
  await withEnv(async ({ mvds, logs, backing, catchUp }) => {
    const { id: a } = await mvds.createNode({ mode: "batch" });
    const { id: b } = await mvds.createNode({ mode: "batch" });
    for (const [x, y] of [[a, b], [b, a]]) {
      await mvds.addPeer(x, y);
      await mvds.addGroupPeer(x, G, y);
    }
    const { backing: log } = await backing.back(a, G, { mode: "full" });
    const sent = [];
    for (let i = 0; i < 4; i++) sent.push(await mvds.sendMessage(a, G, text(`a${i}`)));
    assert.equal((await mvds.nodeInfo(a)).counts.records, 4, "b has not got them");

    await assert.rejects(
      catchUp.catchUp(a, G, { name: log.name, limit: 10 }),
      InvalidInputError,
      "a node's own log",
    );
    const r = await catchUp.catchUp(b, G, { name: log.name, limit: 10 });
    assert.deepEqual([toHex0x(r.peer), r.stored], [toHex0x(a), 4], "the writer is inferred");
    assert.equal((await logs.info(log.name)).count, 4);

    // b's next payload to a carries the ACKs: a's records are gone, its deliveries acked.
    clock.ms += 1000;
    await mvds.receivePayload(a, b, (await mvds.tickPeer(b, a))!);
    assert.equal((await mvds.nodeInfo(a)).counts.records, 0);
    for (const s of sent) {
      assert.equal((await mvds.getMessage(a, s.id)).delivery.get(toHex0x(b))?.state, "acked");
    }
  });
});

Deno.test("mvds catch-up: `from` must be the gateway of a configured peer", async () => {
  await withEnv(async ({ mvds, catchUp }) => {
    const { id: node } = await mvds.createNode({ mode: "batch" });
    const peer = new Uint8Array(32).fill(7);
    await mvds.addPeer(node, peer, `http://peer.example:8000/mvds/nodes/${toHex0x(peer)}/payloads`);
    await mvds.addGroupPeer(node, G, peer);
    const name = "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8";
    const run = (from: string) => catchUp.catchUp(node, G, { name, from, peer, limit: 10 });
    await assert.rejects(run("http://elsewhere.example:8000"), ForbiddenError);
    await assert.rejects(run("http://peer.example:8001"), ForbiddenError);
    await assert.rejects(run("ftp://peer.example:8000"), InvalidInputError);
    // The peer's own gateway passes the check (and reaches the mirror, which this test lacks).
    await assert.rejects(run("http://peer.example:8000/"), /mirrors nothing/);
  });
});

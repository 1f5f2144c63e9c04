/**
 * MvdsService on real KV files, with a clock the test moves: two nodes
 * linked in memory (each tick's bytes handed to the other's
 * receivePayload) deliver in both modes; delivery states move as the spec
 * says; a late joiner gets old messages; a stranger and garbage store
 * nothing; maxSendCount ends in `failed` with no records left; messages
 * stored as received are ACKed; two
 * processes on one KV file agree.
 */
import assert from "node:assert/strict";
import { toHex0x } from "../../lib/bytes.ts";
import { ForbiddenError, InvalidInputError, NotFoundError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { decodePayload, encodePayload } from "../../protocols/mvds/proto.ts";
import { type LiveEvent, LiveHub, LocalNotifier } from "../../services/live_hub.ts";
import { MvdsService } from "../../services/mvds_service.ts";
import { openStore, type Store } from "../../storage/kv.ts";
import { MvdsRepo } from "../../storage/mvds_repo.ts";
import { withTwoStores } from "../storage/two_stores.ts";
import { tempDir } from "../temp_dir.ts";

const GROUP = new Uint8Array([0x67, 0x01]);
const text = (s: string) => new TextEncoder().encode(s);
const clock = { ms: 1_000_000 };

function service(store: Store, events: LiveEvent[] = []) {
  const notifier = new LocalNotifier();
  notifier.listen((e) => events.push(...e));
  return new MvdsService(new MvdsRepo(store), new LiveHub(notifier, createMetrics()), {
    maxMessageBytes: 1024,
    now: () => clock.ms,
    log: createLogger("silent"),
  });
}

/** Two services on two KV files, each with one node that peers the other in GROUP. */
async function withPair(
  modes: ["batch" | "interactive", "batch" | "interactive"],
  fn: (a: Side, b: Side) => Promise<void>,
  opts: { maxSendCount?: number; backoffCapEpochs?: number } = {},
): Promise<void> {
  const { dir, cleanup } = await tempDir();
  const stores = await Promise.all([0, 1].map((i) => openStore(`${dir}/${i}.kv`, createMetrics())));
  try {
    const sides = await Promise.all(stores.map(async (store, i) => {
      const events: LiveEvent[] = [];
      const svc = service(store, events);
      const { id } = await svc.createNode({ mode: modes[i], epochMs: 1000, ...opts });
      return { svc, id, events };
    }));
    for (const [x, y] of [[0, 1], [1, 0]]) {
      await sides[x].svc.addPeer(sides[x].id, sides[y].id);
      await sides[x].svc.addGroupPeer(sides[x].id, GROUP, sides[y].id);
    }
    await fn(sides[0], sides[1]);
  } finally {
    for (const s of stores) s.kv.close();
    await cleanup();
  }
}

interface Side {
  svc: MvdsService;
  id: Uint8Array;
  events: LiveEvent[];
}

/** One epoch: each side's payload for the other, delivered (unless dropped). */
async function epoch(a: Side, b: Side, drop: { ab?: boolean; ba?: boolean } = {}) {
  clock.ms += 1000;
  const ab = await a.svc.tickPeer(a.id, b.id);
  const ba = await b.svc.tickPeer(b.id, a.id);
  if (ab && !drop.ab) await b.svc.receivePayload(b.id, a.id, ab);
  if (ba && !drop.ba) await a.svc.receivePayload(a.id, b.id, ba);
  return { ab: ab && decodePayload(ab), ba: ba && decodePayload(ba) };
}

const bodies = async (s: Side) =>
  (await s.svc.listMessages(s.id, GROUP, undefined, 100)).map((m) =>
    new TextDecoder().decode(m.message.body)
  );

Deno.test("mvds service: batch mode delivers both ways, ACKs end the records", async () => {
  await withPair(["batch", "batch"], async (a, b) => {
    const sent = await a.svc.sendMessage(a.id, GROUP, text("a1"), 1_700_000_000n);
    await a.svc.sendMessage(a.id, GROUP, text("a2"));
    await b.svc.sendMessage(b.id, GROUP, text("b1"));
    assert.equal(
      (await a.svc.getMessage(a.id, sent.id)).delivery.get(toHex0x(b.id))?.state,
      "sent",
    );
    const first = await epoch(a, b);
    assert.equal(first.ab?.messages.length, 2, "batch: MESSAGEs at once");
    await epoch(a, b); // ACKs go back
    assert.deepEqual(await bodies(b), ["b1", "a1", "a2"]);
    assert.deepEqual(await bodies(a), ["a1", "a2", "b1"]);
    const got = await a.svc.getMessage(a.id, sent.id);
    assert.deepEqual(got.delivery.get(toHex0x(b.id)), {
      state: "acked",
      sendCount: 1,
      sendEpoch: 1003,
    });
    const received = (await b.svc.listMessages(b.id, GROUP, undefined, 10))[1];
    assert.deepEqual(received.message.from, a.id);
    assert.equal(received.message.timestamp, 1_700_000_000n);
    for (const s of [a, b]) assert.equal((await s.svc.nodeInfo(s.id)).counts.records, 0);
    assert.ok(b.events.some((e) => JSON.parse(e.json).type === "received"));
    assert.ok(a.events.some((e) => JSON.parse(e.json).type === "acked"));
    // Paging after an id is exact.
    const after = await b.svc.listMessages(b.id, GROUP, received.id, 10);
    assert.deepEqual(after.map((m) => new TextDecoder().decode(m.message.body)), ["a2"]);
    await assert.rejects(
      b.svc.listMessages(b.id, GROUP, new Uint8Array(32), 10),
      NotFoundError,
    );
  });
});

Deno.test("mvds service: interactive mode goes offered → requested → sent → acked", async () => {
  await withPair(["interactive", "interactive"], async (a, b) => {
    const { id } = await a.svc.sendMessage(a.id, GROUP, text("hello"));
    const state = async () => (await a.svc.getMessage(a.id, id)).delivery.get(toHex0x(b.id))?.state;
    assert.equal(await state(), "offered");
    const e1 = await epoch(a, b);
    assert.equal(e1.ab?.offers.length, 1);
    const e2 = await epoch(a, b); // b requests
    assert.equal(e2.ba?.requests.length, 1);
    assert.equal(await state(), "requested");
    const e3 = await epoch(a, b); // a sends the message
    assert.equal(e3.ab?.messages.length, 1);
    assert.equal(await state(), "sent");
    await epoch(a, b); // b ACKs
    assert.equal(await state(), "acked");
    assert.deepEqual(await bodies(b), ["hello"]);
  });
});

Deno.test("mvds service: lost payloads are retransmitted; a returning peer's records are due at once", async () => {
  await withPair(["batch", "batch"], async (a, b) => {
    await a.svc.sendMessage(a.id, GROUP, text("x"));
    // a's payloads are lost: sent at epochs 1, 3 and 7, next due at 15.
    for (let i = 0; i < 9; i++) await epoch(a, b, { ab: true });
    assert.deepEqual(await bodies(b), []);
    // b is heard from at epoch 9: a's record is due at once rather than at 15.
    const hello = encodePayload({ acks: [], offers: [], requests: [], messages: [] });
    await a.svc.receivePayload(a.id, b.id, hello);
    clock.ms += 1000;
    const bytes = await a.svc.tickPeer(a.id, b.id);
    assert.equal(bytes && decodePayload(bytes).messages.length, 1);
  });
});

Deno.test("mvds service: a late joiner gets the group's messages; a non-peer cannot join", async () => {
  await withPair(["batch", "batch"], async (a, b) => {
    const late = new Uint8Array([0x99]);
    await a.svc.addPeer(a.id, late);
    await a.svc.sendMessage(a.id, GROUP, text("m1"));
    await a.svc.sendMessage(a.id, GROUP, text("m2"));
    await b.svc.sendMessage(b.id, GROUP, text("from b"));
    await epoch(a, b);
    const r = await a.svc.addGroupPeer(a.id, GROUP, late);
    assert.deepEqual(r, { added: true, shared: 3 });
    assert.deepEqual(await a.svc.addGroupPeer(a.id, GROUP, late), { added: false, shared: 0 });
    const bytes = await a.svc.tickPeer(a.id, late);
    assert.equal(decodePayload(bytes!).messages.length, 3);
    await assert.rejects(a.svc.addGroupPeer(a.id, GROUP, new Uint8Array([1])), InvalidInputError);
  });
});

Deno.test("mvds service: a stranger is refused, garbage is refused, and nothing is stored", async () => {
  await withPair(["batch", "batch"], async (a, b) => {
    const m = encodePayload({
      acks: [],
      offers: [],
      requests: [],
      messages: [{ groupId: GROUP, timestamp: 1n, body: text("evil") }],
    });
    await assert.rejects(a.svc.receivePayload(a.id, new Uint8Array([7]), m), ForbiddenError);
    for (const junk of [m.subarray(0, m.length - 2), text("not a payload at all")]) {
      await assert.rejects(a.svc.receivePayload(a.id, b.id, junk), InvalidInputError);
    }
    assert.deepEqual(await bodies(a), []);
    assert.equal((await a.svc.nodeInfo(a.id)).counts.messages, 0);
    await assert.rejects(a.svc.receivePayload(new Uint8Array(32), b.id, m), NotFoundError);
  });
});

Deno.test("mvds service: a peer away past maxSendCount ends failed, with no record left", async () => {
  await withPair(["batch", "batch"], async (a, b) => {
    const { id } = await a.svc.sendMessage(a.id, GROUP, text("lost"));
    for (let i = 0; i < 12; i++) await epoch(a, b, { ab: true, ba: true });
    const d = (await a.svc.getMessage(a.id, id)).delivery.get(toHex0x(b.id));
    assert.equal(d?.state, "failed");
    assert.equal(d?.sendCount, 3);
    assert.equal((await a.svc.nodeInfo(a.id)).counts.records, 0);
    assert.ok(a.events.some((e) => JSON.parse(e.json).type === "failed"));
  }, { maxSendCount: 3, backoffCapEpochs: 2 });
});

Deno.test("mvds service: messages stored as received from a peer are ACKed to it", async () => {
  await withPair(["batch", "batch"], async (a, b) => {
    const message = { groupId: GROUP, timestamp: 5n, body: text("caught up") };
    const r = await b.svc.storeAsReceived(b.id, a.id, [message, message]);
    assert.equal(r.stored, 1);
    assert.deepEqual(await bodies(b), ["caught up"]);
    clock.ms += 1000;
    const bytes = await b.svc.tickPeer(b.id, a.id);
    assert.equal(decodePayload(bytes!).acks.length, 1);
  });
});

Deno.test("mvds service: two processes on one KV file send and receive at once and agree", async () => {
  await withTwoStores(async (s1, s2) => {
    const [one, two] = [service(s1), service(s2)];
    const { id: node } = await one.createNode({ mode: "batch", epochMs: 1000 });
    const peer = new Uint8Array([0xbb]);
    await one.addPeer(node, peer);
    await two.addGroupPeer(node, GROUP, peer);
    const payload = (i: number) =>
      encodePayload({
        acks: [],
        offers: [],
        requests: [],
        messages: [{ groupId: GROUP, timestamp: BigInt(i), body: text(`in${i}`) }],
      });
    await Promise.all(
      [one, two].flatMap((svc, k) =>
        Array.from(
          { length: 10 },
          (_, i) =>
            i % 2
              ? svc.sendMessage(node, GROUP, text(`out${k}-${i}`))
              : svc.receivePayload(node, peer, payload(k * 100 + i)),
        )
      ),
    );
    const all = await one.listMessages(node, GROUP, undefined, 1000);
    assert.equal(all.length, 20);
    assert.equal(new Set(all.map((m) => toHex0x(m.id))).size, 20);
    // Arrival order is strictly increasing, and paging from any id misses nothing.
    const seqs = all.map((m) => m.message.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    const rest = await two.listMessages(node, GROUP, all[9].id, 1000);
    assert.deepEqual(rest.map((m) => toHex0x(m.id)), all.slice(10).map((m) => toHex0x(m.id)));
    const info = await two.nodeInfo(node);
    assert.equal(info.counts.messages, 20);
    assert.equal(info.counts.records, 10, "one MESSAGE record per own message");
    clock.ms += 1000;
    const out = decodePayload((await one.tickPeer(node, peer))!);
    assert.equal(out.messages.length, 10);
    assert.equal(out.acks.length, 10);
  });
});

Deno.test("mvds service: concurrent sends to one node share one commit, each answered truthfully", async () => {
  await withPair(["batch", "batch"], async (a, b) => {
    const store = (a.svc.repo as unknown as { store: Store }).store;
    const commits = () =>
      store.metrics.kvCommits.get({ store: "mvds", outcome: "ok" }) as number | undefined ?? 0;
    const before = commits();
    const bodies = Array.from({ length: 40 }, (_, i) => text(`m${i % 30}`)); // 10 duplicates
    const got = await Promise.all(
      bodies.map((body) => a.svc.sendMessage(a.id, GROUP, body, 7n)),
    );
    assert.equal(commits() - before, 1, "the 40 sends took one commit");
    // Each distinct message is created once: by the first of its sends, later ones are 200s.
    const firsts = new Map<string, number>();
    got.forEach((r, i) => {
      const k = toHex0x(r.id);
      if (!firsts.has(k)) firsts.set(k, i);
      assert.equal(r.created, firsts.get(k) === i, `send ${i}: created ${r.created}`);
    });
    assert.equal(firsts.size, 30);
    const info = await a.svc.nodeInfo(a.id);
    assert.equal(info.counts.messages, 30);
    assert.equal(info.counts.records, 30, "one record per message for b");
    // Sent again after the commit: held, 200, nothing new.
    const again = await a.svc.sendMessage(a.id, GROUP, text("m0"), 7n);
    assert.equal(again.created, false);
    assert.equal((await a.svc.nodeInfo(a.id)).counts.messages, 30);
    // a's own list is in the order of the first sends; b gets each once.
    const own = await a.svc.listMessages(a.id, GROUP, undefined, 100);
    assert.deepEqual(own.map((m) => toHex0x(m.id)), [...firsts.keys()]);
    await epoch(a, b);
    const listed = await b.svc.listMessages(b.id, GROUP, undefined, 100);
    assert.deepEqual(listed.map((m) => toHex0x(m.id)).sort(), [...firsts.keys()].sort());
  });
});

Deno.test("mvds service: a batch of sends too big for one commit is split, all answered", async () => {
  await withPair(["batch", "batch"], async (a) => {
    const store = (a.svc.repo as unknown as { store: Store }).store;
    const commits = () =>
      store.metrics.kvCommits.get({ store: "mvds", outcome: "ok" }) as number | undefined ?? 0;
    const before = commits();
    // Bodies of 1,000 B: ~800 KiB of a commit takes some 750; 2,000 need ≥ 3 commits.
    const big = (i: number) => {
      const x = new Uint8Array(1000);
      new DataView(x.buffer).setUint32(0, i);
      return x;
    };
    const got = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => a.svc.sendMessage(a.id, GROUP, big(i), 1n)),
    );
    assert.ok(got.every((r) => r.created));
    const n = commits() - before;
    assert.ok(n >= 3 && n <= 20, `${n} commits`);
    assert.equal((await a.svc.nodeInfo(a.id)).counts.messages, 2000);
    const listed = await a.svc.listMessages(a.id, GROUP, undefined, 5000);
    assert.equal(new Set(listed.map((m) => toHex0x(m.id))).size, 2000);
  });
});

Deno.test("mvds service: a peer busy with our payload does not count as returning", async () => {
  await withPair(["batch", "batch"], async (a, b) => {
    for (let i = 0; i < 3; i++) await a.svc.sendMessage(a.id, GROUP, text(`x${i}`));
    const now = () => a.svc.epoch({ epochMs: 1000 });
    const count = async () => {
      const out = await a.svc.tickPeer(a.id, b.id);
      return out ? decodePayload(out).messages.length : 0;
    };
    const e0 = now();
    assert.equal(await count(), 3); // sent at e0, due again at e0 + 2
    clock.ms += 1000;
    await a.svc.peerSeen(a.id, b.id, e0); // b answered that POST at e0 + 1
    clock.ms += 1000;
    const sent = now();
    assert.equal(await count(), 3); // resent at e0 + 2, due again at e0 + 6
    // b takes 3 epochs over this payload, then answers: it was busy with it, not away.
    clock.ms += 3000;
    await a.svc.peerSeen(a.id, b.id, sent);
    assert.equal(await count(), 0, "nothing woken at e0 + 5: the records wait for e0 + 6");
    clock.ms += 1000;
    assert.equal(await count(), 3); // e0 + 6: resent on schedule, due again at e0 + 14
    // Silent from e0 + 5 until its payload comes at e0 + 10: returning, records due at once.
    clock.ms += 4000;
    await a.svc.receivePayload(
      a.id,
      b.id,
      encodePayload({ acks: [], offers: [], requests: [], messages: [] }),
    );
    assert.equal(await count(), 3);
  });
});

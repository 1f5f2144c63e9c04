/**
 * Catch-up from a remote log after a long absence, with the sender's
 * retransmissions stopping (issue 9), between two real gateway processes:
 * A's node backs a group by a remote log and sends while B's gateway is
 * down and B's node unreachable from A (a phone behind NAT: A's payloads
 * to it go to a proxy that drops them all, so A retransmits, backing off).
 * B comes up, mirrors A's log from A's gateway and catches up from it (in
 * two bounded requests); B's next payload to A ACKs everything, and A's
 * records drain to 0 and its retransmissions stop, although no payload of
 * A ever reached B.
 */
import assert from "node:assert/strict";
import { type GatewayProcess, postJson, spawnGateway, tempDir } from "../helpers.ts";
import {
  addPeer,
  createNode,
  getMessage,
  listAll,
  LossyProxy,
  newGroup,
  nodeInfo,
  sendText,
  share,
  texts,
  waitFor,
} from "./mvds_client.ts";

const N = 40;

async function putBacking(base: string, node: string, group: string, body: unknown) {
  const res = await fetch(`${base}/mvds/nodes/${node}/groups/${group}/remote-log`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("e2e mvds: catch-up from a remote log after a long absence, with the sender's retransmissions stopping", async () => {
  const { dir, cleanup } = await tempDir();
  const unreachable = new LossyProxy(0); // no target: every payload to B is lost
  const gws: GatewayProcess[] = [];
  try {
    const a = await spawnGateway({ SYNCGATE_KV: `${dir}/a.kv` });
    gws.push(a);
    const bId = "0x" + crypto.getRandomValues(new Uint8Array(32)).toHex();
    const aId = await createNode(a.url, { mode: "batch", backoffCapEpochs: 4 });
    await addPeer(a.url, aId, bId, `${unreachable.url}/mvds/nodes/${bId}/payloads`);
    const group = newGroup();
    await share(a.url, aId, group, bId);

    const backed = await putBacking(a.url, aId, group, { mode: "paged", pageSize: 10 });
    assert.equal(backed.status, 201, JSON.stringify(backed.body));
    const name = backed.body.name as string;
    const again = await putBacking(a.url, aId, group, { mode: "paged", pageSize: 10 });
    assert.deepEqual([again.status, again.body.name], [200, name]);
    assert.equal((await putBacking(a.url, aId, group, { mode: "full" })).status, 409);
    const none = await fetch(`${a.url}/mvds/nodes/${aId}/groups/${newGroup()}/remote-log`);
    assert.equal(none.status, 404);
    await none.body?.cancel();

    // A sends while B is away; A retransmits (to nowhere).
    const sent = [];
    for (let i = 0; i < N; i++) sent.push(await sendText(a.url, aId, group, `while away ${i}`));
    const shown = await (await fetch(`${a.url}/mvds/nodes/${aId}/groups/${group}/remote-log`))
      .json();
    assert.deepEqual([shown.count, shown.pending, shown.mode], [N, 0, "paged"]);
    await waitFor("A to retransmit", () => Promise.resolve(unreachable.dropped >= 3));
    assert.equal((await nodeInfo(a.url, aId)).records, N);

    // B comes up: its node (the id A knows) peers A, whose url names A's gateway.
    const b = await spawnGateway({ SYNCGATE_KV: `${dir}/b.kv` });
    gws.push(b);
    await createNode(b.url, { mode: "batch", id: bId });
    await addPeer(b.url, bId, aId, `${a.url}/mvds/nodes/${aId}/payloads`);
    await share(b.url, bId, group, aId);

    const catchUp = (body: Record<string, unknown>) =>
      postJson(`${b.url}/mvds/nodes/${bId}/groups/${group}/catch-up`, { name, ...body });
    const stranger = await catchUp({ from: "http://127.0.0.1:9", peer: aId });
    assert.equal(stranger.status, 403, JSON.stringify(stranger.body));
    const notPeer = await catchUp({ from: a.url, peer: "0x" + "55".repeat(32) });
    assert.equal(notPeer.status, 400, JSON.stringify(notPeer.body));
    assert.equal((await catchUp({ peer: aId })).status, 404, "not mirrored yet: unknown here");

    const first = await catchUp({ from: a.url, peer: aId, limit: 25 });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(
      [first.body.fetched, first.body.stored, first.body.invalid, typeof first.body.next],
      [25, 25, 0, "string"],
    );
    const rest = await catchUp({ from: a.url, peer: aId });
    assert.equal(rest.status, 200, JSON.stringify(rest.body));
    assert.deepEqual(
      [rest.body.fetched, rest.body.stored, rest.body.next, rest.body.last],
      [N - 25, N - 25, undefined, sent.at(-1)!.id],
    );
    const onB = await listAll(b.url, bId, group);
    assert.deepEqual(
      texts(onB).sort(),
      Array.from({ length: N }, (_, i) => `while away ${i}`).sort(),
    );
    assert.ok(onB.every((m) => m.from === aId));

    // B's next payload to A carries the ACKs: A's records end acked, and it stops retransmitting.
    await waitFor("A's records to drain", async () => (await nodeInfo(a.url, aId)).records === 0);
    for (const s of sent) {
      assert.equal((await getMessage(a.url, aId, s.id)).delivery[bId]?.state, "acked");
    }
    const lost = unreachable.dropped;
    await new Promise((r) => setTimeout(r, 1000)); // 20 epochs, 5× the backoff cap
    assert.equal(unreachable.dropped, lost, "A retransmits no more");
    assert.equal(unreachable.forwarded, 0, "no payload of A ever reached B");
  } finally {
    for (const gw of gws) await gw.stop();
    await unreachable.close();
    await cleanup();
  }
});

/**
 * Remote logs end to end on a real gateway: Alice creates and appends (the
 * gateway signs), Bob reads by name, page by page, in each mode; the IPNS
 * record and the pages are what independent IPFS code verifies.
 */
import assert from "node:assert/strict";
import { unmarshalIPNSRecord } from "ipns";
import { validate } from "ipns/validator";
import { base36 } from "multiformats/bases/base36";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";
import { decodeRemoteLog } from "../../protocols/remotelog/remote_log.ts";
import { spawnGateway, tempDir, withGateway } from "../helpers.ts";
import { getRecord } from "./ns_client.ts";

const enc = new TextEncoder();

async function createLog(url: string, mode: string, pageSize?: number) {
  const res = await fetch(`${url}/logs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ mode, ...(pageSize ? { pageSize } : {}) }),
  });
  assert.equal(res.status, 201);
  return await res.json() as { name: string; writeToken: string };
}

async function append(
  url: string,
  log: { name: string; writeToken: string },
  text: string,
  localHash?: string,
) {
  const res = await fetch(`${url}/logs/${log.name}/entries`, {
    method: "POST",
    headers: {
      "content-type": "application/octet-stream",
      authorization: `Bearer ${log.writeToken}`,
      ...(localHash ? { "x-local-hash": localHash } : {}),
    },
    body: enc.encode(text),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json() as { localHash: string; remoteHash: string; sequence: string };
}

async function readAll(url: string, name: string, limit = 3) {
  const out: { localHash: string; data: string }[] = [];
  let after: string | undefined;
  for (;;) {
    const res = await fetch(
      `${url}/logs/${name}/entries?limit=${limit}${after ? `&after=${after}` : ""}`,
    );
    assert.equal(res.status, 200);
    const page = await res.json() as {
      entries: { localHash: string; data: string }[];
      next?: string;
    };
    out.push(...page.entries);
    if (!page.next) return out;
    after = page.next;
  }
}

/** The pages from the head, by CID through the gateway's trustless endpoint, verified. */
async function pages(url: string, head: string) {
  const out = [];
  for (let cid: CID | undefined = CID.parse(head); cid;) {
    const res: Response = await fetch(`${url}/ipfs/${cid}?format=raw`);
    assert.equal(res.status, 200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.deepEqual(
      (await sha256.digest(bytes)).digest,
      cid.multihash.digest,
      "the page matches its CID",
    );
    const page = decodeRemoteLog(bytes);
    out.push(page.pairs.map((p) => new TextDecoder().decode(p.localHash)));
    cid = page.tail.length ? CID.decode(page.tail) : undefined;
  }
  return out;
}

Deno.test("e2e remote log: each mode's pages, Bob's walk, and the signed record", async () => {
  await withGateway({}, async (gw) => {
    for (
      const [mode, pageSize, shape] of [
        ["full", undefined, [["e5", "e4", "e3", "e2", "e1"]]],
        ["paged", 2, [["e5"], ["e4", "e3"], ["e2", "e1"]]],
        ["linked", undefined, [["e5"], ["e4"], ["e3"], ["e2"], ["e1"]]],
      ] as const
    ) {
      const log = await createLog(gw.url, mode, pageSize);
      assert.match(log.name, /^k51/);
      for (let i = 1; i <= 5; i++) {
        const hex = `0x${enc.encode(`e${i}`).toHex()}`;
        const a = await append(gw.url, log, `entry ${i}`, hex);
        assert.equal(a.localHash, hex);
        assert.equal(a.sequence, String(i));
        assert.match(a.remoteHash, /^bafkrei/);
      }
      // The record the name system serves, fetched before any read of the log (a read would
      // publish it again): valid, signed by the name's key, at the head.
      const res = await getRecord(gw.url, log.name);
      assert.equal(res.status, 200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const info = await (await fetch(`${gw.url}/logs/${log.name}`)).json();
      assert.equal(info.mode, mode);
      assert.equal(info.sequence, "5");
      assert.equal(info.count, 5);
      assert.deepEqual(await pages(gw.url, info.head), shape, mode);
      // Bob, oldest first, three at a time.
      const all = await readAll(gw.url, log.name);
      assert.deepEqual(all.map((e) => atob(e.data)), [1, 2, 3, 4, 5].map((i) => `entry ${i}`));
      const after3 = await (await fetch(
        `${gw.url}/logs/${log.name}/entries?after=0x${enc.encode("e3").toHex()}`,
      )).json();
      assert.deepEqual(after3.entries.map((e: { data: string }) => atob(e.data)), [
        "entry 4",
        "entry 5",
      ]);
      const record = unmarshalIPNSRecord(bytes);
      assert.equal(record.value, `/ipfs/${info.head}`);
      assert.equal(record.sequence, 5n);
      const { peerIdFromString } = await import("@libp2p/peer-id");
      await validate(peerIdFromString(log.name).publicKey!, bytes);
    }
  });
});

Deno.test("e2e remote log: a wrong or missing token is 401 and nothing is appended; unknown after is 404", async () => {
  await withGateway({}, async (gw) => {
    const log = await createLog(gw.url, "paged", 10);
    await append(gw.url, log, "kept");
    for (const auth of [{}, { authorization: "Bearer nope" }] as Record<string, string>[]) {
      const res = await fetch(`${gw.url}/logs/${log.name}/entries`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream", ...auth },
        body: "x",
      });
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
      await res.body?.cancel();
    }
    const info = await (await fetch(`${gw.url}/logs/${log.name}`)).json();
    assert.equal(info.count, 1);
    const res = await fetch(`${gw.url}/logs/${log.name}/entries?after=0x00ff`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    const bad = await fetch(`${gw.url}/logs/${log.name}/entries`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${log.writeToken}`,
        "x-local-hash": "zz",
        "content-type": "application/octet-stream",
      },
      body: "x",
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  });
});

Deno.test("e2e remote log: 30 concurrent appends are all kept, once each, in the order they were committed", async () => {
  await withGateway({}, async (gw) => {
    const log = await createLog(gw.url, "paged", 4);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => append(gw.url, log, `c${i}`)),
    );
    const all = await readAll(gw.url, log.name, 1000);
    assert.equal(all.length, 30);
    assert.deepEqual(
      new Set(all.map((e) => e.localHash)),
      new Set(results.map((r) => r.localHash)),
    );
    // Appends committed together share their record's sequence; the log's order follows them.
    const seqOf = new Map(results.map((r) => [r.localHash, Number(r.sequence)]));
    const seqs = all.map((e) => seqOf.get(e.localHash)!);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    const info = await (await fetch(`${gw.url}/logs/${log.name}`)).json();
    assert.equal(info.count, 30);
    assert.equal(info.sequence, String(Math.max(...seqs)));
  });
});

Deno.test("e2e remote log: new entries arrive on the live feed (SSE)", async () => {
  await withGateway({}, async (gw) => {
    const log = await createLog(gw.url, "linked");
    const res = await fetch(`${gw.url}/logs/${log.name}/live`);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.getReader();
    await reader.read(); // ": connected"
    const a = await append(gw.url, log, "live one");
    let text = "";
    while (!text.includes("data:")) text += new TextDecoder().decode((await reader.read()).value);
    const frame = JSON.parse(text.split("data: ")[1].split("\n")[0]);
    assert.deepEqual(frame, {
      name: log.name,
      localHash: a.localHash,
      remoteHash: a.remoteHash,
      sequence: "1",
    });
    await reader.cancel();
  });
});

Deno.test("e2e remote log: a client with its own key keeps a log through PUT /routing/v1/ipns and CAS; Bob reads it", async () => {
  const { generateKeyPair } = await import("@libp2p/crypto/keys");
  const { createIPNSRecord, marshalIPNSRecord } = await import("ipns");
  const { peerIdFromPrivateKey } = await import("@libp2p/peer-id");
  const { encodeRemoteLog } = await import("../../protocols/remotelog/remote_log.ts");
  await withGateway({}, async (gw) => {
    const key = await generateKeyPair("Ed25519");
    // Written as a base32 CID (bafz…); the gateway answers in the canonical base36 (k51…).
    const name = peerIdFromPrivateKey(key).toCID().toString();
    const canonical = peerIdFromPrivateKey(key).toCID().toString(base36);
    const cas = async (bytes: Uint8Array) => {
      const res = await fetch(`${gw.url}/cas`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: bytes as BodyInit,
      });
      assert.ok(res.ok);
      return CID.parse((await res.json()).cid);
    };
    // Two entries, a linked list of two pages, written by the client itself.
    const e1 = await cas(enc.encode("own one")), e2 = await cas(enc.encode("own two"));
    const p1 = await cas(encodeRemoteLog({
      pairs: [{ remoteHash: e1.bytes, localHash: enc.encode("l1") }],
      tail: new Uint8Array(0),
    }));
    const p2 = await cas(encodeRemoteLog({
      pairs: [{ remoteHash: e2.bytes, localHash: enc.encode("l2") }],
      tail: p1.bytes,
    }));
    const record = marshalIPNSRecord(await createIPNSRecord(key, `/ipfs/${p2}`, 1n, 3_600_000));
    const put = await fetch(`${gw.url}/routing/v1/ipns/${name}`, {
      method: "PUT",
      headers: { "content-type": "application/vnd.ipfs.ipns-record" },
      body: record as BodyInit,
    });
    assert.ok(put.ok, await put.text());
    const info = await (await fetch(`${gw.url}/logs/${name}`)).json();
    assert.deepEqual(info, {
      name: canonical,
      mode: "unknown",
      head: p2.toString(),
      sequence: "1",
    });
    const all = await readAll(gw.url, name);
    assert.deepEqual(all.map((e) => atob(e.data)), ["own one", "own two"]);
    // The spec's NS service: Fetch of the log's name is its head page, the RemoteLog.
    const fetched = await fetch(`${gw.url}/twirp/vac.cas.NS/Fetch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    assert.equal(fetched.status, 200);
    const page = decodeRemoteLog(Uint8Array.fromBase64((await fetched.json()).data));
    assert.deepEqual(page.tail, p1.bytes);
  });
});

Deno.test("e2e remote log: a crash after an append keeps it, and the log goes on from there", async () => {
  const { dir, cleanup } = await tempDir();
  const env = { SYNCGATE_KV: `${dir}/gw.kv` };
  let gw = await spawnGateway(env);
  try {
    const log = await createLog(gw.url, "paged", 2);
    await append(gw.url, log, "before 1");
    const acked = await append(gw.url, log, "before 2");
    assert.equal((await gw.kill()).signal, "SIGKILL");
    gw = await spawnGateway(env);
    const after = await append(gw.url, log, "after 1");
    assert.equal(Number(after.sequence), Number(acked.sequence) + 1);
    const all = await readAll(gw.url, log.name);
    assert.deepEqual(all.map((e) => atob(e.data)), ["before 1", "before 2", "after 1"]);
    const record = unmarshalIPNSRecord(
      new Uint8Array(await (await getRecord(gw.url, log.name)).arrayBuffer()),
    );
    assert.equal(record.sequence, BigInt(after.sequence));
  } finally {
    await gw.stop().catch(() => {});
    await cleanup();
  }
});

Deno.test("e2e remote log: a localHash names one entry: a repeat is 409, so readers resuming after it miss nothing", async () => {
  await withGateway({}, async (gw) => {
    const log = await createLog(gw.url, "paged", 2);
    const post = (text: string, localHash?: string) =>
      fetch(`${gw.url}/logs/${log.name}/entries`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${log.writeToken}`,
          "content-type": "application/octet-stream",
          ...(localHash ? { "x-local-hash": localHash } : {}),
        },
        body: enc.encode(text),
      });
    await append(gw.url, log, "same");
    await append(gw.url, log, "other");
    // The same content again, its default localHash (the SHA-256) taken: refused, saying why.
    const again = await post("same");
    assert.equal(again.status, 409);
    assert.match((await again.json()).detail, /X-Local-Hash/);
    // With its own localHash it is a new entry.
    await append(gw.url, log, "same", "0x0102");
    // Two at once with one localHash: exactly one is kept.
    const both = await Promise.all([post("x1", "0x0a"), post("x2", "0x0a")]);
    assert.deepEqual(both.map((r) => r.status).sort(), [201, 409]);
    await Promise.all(both.map((r) => r.body?.cancel()));
    const all = await readAll(gw.url, log.name, 1);
    assert.equal(all.length, 4, "every entry, read one at a time after the last");
    assert.equal(new Set(all.map((e) => e.localHash)).size, 4);
  });
});

/**
 * The spec's CAS service over Twirp, on a real gateway: protobuf and JSON
 * round trips, a bare sha256 address, and Twirp error JSON for every
 * failure (the gateway's own refusals included).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeCasCid } from "../../protocols/cas/cid.ts";
import { AddressType, ContentType } from "../../protocols/cas/proto.ts";
import { withGateway } from "../helpers.ts";
import { lenField, Rng } from "../protocols/waku/fuzz_util.ts";
import { cidOfBytes } from "./cas_client.ts";

const PB = "application/protobuf";

async function twirp(
  url: string,
  method: string,
  body: string | Uint8Array,
  type: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await fetch(`${url}/twirp/vac.cas.CAS/${method}`, {
    method: "POST",
    headers: { "content-type": type, ...headers },
    body: body as BodyInit,
  });
}

/** A Twirp error answer: its status, code and message. */
async function twirpFailure(res: Response) {
  assert.equal(res.headers.get("content-type"), "application/json");
  const body = await res.json();
  assert.equal(typeof body.msg, "string");
  return { status: res.status, code: body.code as string, msg: body.msg as string };
}

Deno.test("e2e Twirp: Add and Get round trip in protobuf, by binary CID and by bare sha256", async () => {
  await withGateway({}, async (gw) => {
    const data = new Rng(51).bytes(300_000);
    for (const type of [PB, "application/x-protobuf"]) {
      const added = await twirp(gw.url, "Add", ContentType.encode({ data }).finish(), type);
      assert.equal(added.status, 200);
      assert.equal(added.headers.get("content-type"), type);
      const { id } = AddressType.decode(await added.bytes()) as unknown as { id: Uint8Array };
      assert.equal(decodeCasCid(id).text, cidOfBytes(data), "Address.id is the binary CID");
      const digest = new Uint8Array(createHash("sha256").update(data).digest());
      for (const address of [id, digest]) {
        const got = await twirp(gw.url, "Get", AddressType.encode({ id: address }).finish(), type);
        assert.equal(got.status, 200);
        const bytes = await got.bytes();
        assert.equal(got.headers.get("content-length"), String(bytes.length));
        const content = ContentType.decode(bytes) as unknown as { data: Uint8Array };
        assert.deepEqual(content.data, data);
      }
    }
    // The same content by the HTTP routes.
    const raw = await fetch(`${gw.url}/ipfs/${cidOfBytes(data)}?format=raw`);
    assert.deepEqual(await raw.bytes(), data);
  });
});

Deno.test("e2e Twirp: Add and Get in JSON (bytes as base64), empty content included", async () => {
  await withGateway({}, async (gw) => {
    for (const data of [new TextEncoder().encode("hello world\n"), new Uint8Array()]) {
      const added = await twirp(
        gw.url,
        "Add",
        JSON.stringify({ data: data.toBase64() }),
        "application/json",
      );
      assert.equal(added.status, 200);
      const { id } = await added.json();
      assert.equal(decodeCasCid(Uint8Array.fromBase64(id)).text, cidOfBytes(data));
      const got = await twirp(gw.url, "Get", JSON.stringify({ id }), "application/json");
      assert.equal(got.status, 200);
      const text = await got.text();
      assert.equal(got.headers.get("content-length"), String(text.length));
      assert.deepEqual(JSON.parse(text), { data: data.toBase64() });
    }
    // URL-safe base64 and unknown fields are read, as protojson reads them.
    const urlSafe = new Uint8Array([0xfb, 0xff, 0xfe]);
    const added = await twirp(
      gw.url,
      "Add",
      JSON.stringify({ data: urlSafe.toBase64({ alphabet: "base64url" }), extra: 1 }),
      "application/json",
    );
    assert.equal(
      decodeCasCid(Uint8Array.fromBase64((await added.json()).id)).text,
      cidOfBytes(urlSafe),
    );
  });
});

Deno.test("e2e Twirp: failures are Twirp error JSON with Twirp's statuses", async () => {
  const KEY = "t".repeat(24);
  await withGateway({ SYNCGATE_API_KEY: KEY, SYNCGATE_CAS_MAX_BYTES: "1000" }, async (gw) => {
    const auth = { authorization: `Bearer ${KEY}` };
    const absent = AddressType.encode({ id: new Uint8Array(32) }).finish();
    const cases: [Promise<Response>, number, string, RegExp?][] = [
      [twirp(gw.url, "Get", absent, PB), 404, "not_found", /No content with CID bafkrei/],
      [twirp(gw.url, "Get", new Uint8Array([0x0a, 0x05, 1]), PB), 400, "malformed"],
      [
        twirp(gw.url, "Get", AddressType.encode({ id: new Uint8Array(5) }).finish(), PB),
        400,
        "invalid_argument",
        /id is not a CAS address/,
      ],
      [twirp(gw.url, "Get", "{", "application/json"), 400, "malformed"],
      [
        twirp(gw.url, "Get", JSON.stringify({ id: 5 }), "application/json"),
        400,
        "invalid_argument",
      ],
      [twirp(gw.url, "Get", "x", "text/plain"), 404, "bad_route", /Content-Type/],
      [
        twirp(gw.url, "Add", ContentType.encode({ data: new Uint8Array(3) }).finish(), PB),
        401,
        "unauthenticated",
      ],
      [
        twirp(gw.url, "Add", ContentType.encode({ data: new Uint8Array(1001) }).finish(), PB, auth),
        400,
        "invalid_argument",
        /limit is 1000/,
      ],
      [
        twirp(gw.url, "Add", new Uint8Array(lenField(1, [1, 2, 3]).slice(0, 3)), PB, auth),
        400,
        "malformed",
      ],
      [
        twirp(gw.url, "Add", new Uint8Array([...lenField(1, [1]), ...lenField(1, [2])]), PB, auth),
        400,
        "malformed",
        /twice/,
      ],
      [twirp(gw.url, "Nope", absent, PB), 404, "bad_route"],
      [fetch(`${gw.url}/twirp/vac.cas.CAS/Get`), 404, "bad_route"],
    ];
    for (const [res, status, code, msg] of cases) {
      const f = await twirpFailure(await res);
      assert.equal(f.status, status, `${code}: ${f.msg}`);
      assert.equal(f.code, code, f.msg);
      if (msg) assert.match(f.msg, msg);
    }
    // Nothing of the refused adds was stored.
    assert.equal((await fetch(`${gw.url}/cas/${cidOfBytes(new Uint8Array(1001))}`)).status, 404);
  });
});

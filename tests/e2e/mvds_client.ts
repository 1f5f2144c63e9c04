/**
 * Test helpers for MVDS end to end: the API calls a client makes, pairs of
 * nodes on two gateways that peer each other over HTTP (directly or through
 * a lossy proxy), and waiting for delivery.
 */
import assert from "node:assert/strict";
import { postJson } from "../helpers.ts";
import { mulberry32 } from "../../lib/prng.ts";

export interface NodeRef {
  base: () => string;
  id: string;
}

export async function createNode(
  base: string,
  body: Record<string, unknown>,
): Promise<string> {
  const r = await postJson(`${base}/mvds/nodes`, { epochMs: 50, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

export async function addPeer(base: string, node: string, id: string, url?: string) {
  const r = await postJson(`${base}/mvds/nodes/${node}/peers`, { id, ...(url ? { url } : {}) });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
}

export async function share(base: string, node: string, group: string, peer: string) {
  const r = await postJson(`${base}/mvds/nodes/${node}/groups/${group}/peers`, { peer });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  return r.body;
}

export async function sendText(base: string, node: string, group: string, text: string) {
  const r = await postJson(`${base}/mvds/nodes/${node}/groups/${group}/messages`, {
    body: new TextEncoder().encode(text).toBase64(),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as { id: string; timestamp: number };
}

export interface MessageJson {
  id: string;
  groupId: string;
  timestamp: number;
  body: string;
  from?: string;
}

/** Every message of a group, paging with `after`. */
export async function listAll(base: string, node: string, group: string): Promise<MessageJson[]> {
  const out: MessageJson[] = [];
  for (;;) {
    const after = out.length ? `&after=${out[out.length - 1].id}` : "";
    const res = await fetch(`${base}/mvds/nodes/${node}/groups/${group}/messages?limit=50${after}`);
    assert.equal(res.status, 200);
    const page = (await res.json()).messages as MessageJson[];
    out.push(...page);
    if (page.length < 50) return out;
  }
}

export const texts = (ms: MessageJson[]) => ms.map((m) => atob(m.body));

export async function getMessage(base: string, node: string, id: string) {
  const res = await fetch(`${base}/mvds/nodes/${node}/messages/${id}`);
  assert.equal(res.status, 200);
  return await res.json() as MessageJson & {
    delivery: Record<string, { state: string; sendCount: number; sendEpoch: number }>;
  };
}

export async function nodeInfo(base: string, node: string) {
  const res = await fetch(`${base}/mvds/nodes/${node}`);
  assert.equal(res.status, 200);
  return await res.json() as { records: number; messages: number; epoch: number };
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A random group id, 0x-hex. */
export const newGroup = () => "0x" + crypto.getRandomValues(new Uint8Array(8)).toHex();

/**
 * An HTTP proxy in the test: forwards each request to `target` (changed
 * when a gateway restarts on another port) unless it drops it (answered
 * 202, as if it had gone out), with probability `loss`, from a seeded PRNG.
 */
export class LossyProxy {
  target: string | undefined;
  forwarded = 0;
  dropped = 0;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #random: () => number;

  constructor(public loss: number, seed = 1) {
    this.#random = mulberry32(seed);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #handle(req: Request): Promise<Response> {
    const body = new Uint8Array(await req.arrayBuffer());
    if (!this.target || this.#random() < this.loss) {
      this.dropped++;
      return new Response(null, { status: 202 });
    }
    const u = new URL(req.url);
    try {
      const res = await fetch(this.target + u.pathname + u.search, {
        method: req.method,
        headers: req.headers,
        body,
      });
      this.forwarded++;
      return new Response(await res.arrayBuffer(), { status: res.status });
    } catch {
      this.dropped++;
      return new Response(null, { status: 502 });
    }
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}

/**
 * Two nodes, one on each gateway, that peer each other over HTTP in a new
 * group; through proxies when given (proxies[0] carries a→b).
 */
export async function linkNodes(
  bases: [() => string, () => string],
  nodeOpts: [Record<string, unknown>, Record<string, unknown>],
  proxies?: [LossyProxy, LossyProxy],
): Promise<{ a: string; b: string; group: string }> {
  const a = await createNode(bases[0](), nodeOpts[0]);
  const b = await createNode(bases[1](), nodeOpts[1]);
  const via = (i: 0 | 1) => proxies ? proxies[i].url : bases[1 - i]();
  await addPeer(bases[0](), a, b, `${via(0)}/mvds/nodes/${b}/payloads`);
  await addPeer(bases[1](), b, a, `${via(1)}/mvds/nodes/${a}/payloads`);
  const group = newGroup();
  await share(bases[0](), a, group, b);
  await share(bases[1](), b, group, a);
  return { a, b, group };
}

/** Waits until each side holds `expected` messages and all its own are ACKed by the other. */
export async function waitDelivered(
  bases: [() => string, () => string],
  link: { a: string; b: string; group: string },
  expected: number,
  timeoutMs = 20_000,
): Promise<void> {
  const sides = [[bases[0], link.a, link.b], [bases[1], link.b, link.a]] as const;
  await waitFor(`all ${expected} messages on both sides, and ACKed`, async () => {
    for (const [base, node, other] of sides) {
      const all = await listAll(base(), node, link.group);
      if (all.length < expected) return false;
      for (const m of all.filter((m) => !m.from)) {
        const got = await getMessage(base(), node, m.id);
        if (got.delivery[other]?.state !== "acked") return false;
      }
    }
    return true;
  }, timeoutMs);
}

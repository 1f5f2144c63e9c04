/**
 * MVDS and remote logs over HTTP: back a node's group by a remote log this
 * gateway writes (every message the node sends in it is appended), and
 * catch a node's group up from a peer's log.
 */
import { z } from "@hono/zod-openapi";
import { toHex0x } from "../lib/bytes.ts";
import type { BackingView, MvdsRemoteLogBacking } from "../services/mvds_remote_log.ts";
import type { CatchUpResult, MvdsCatchUp } from "../services/mvds_remote_log_catch_up.ts";
import type { Routes } from "./define.ts";
import { GroupParams, idBytes, NodeId } from "./mvds_schemas.ts";

export interface MvdsRemoteLogRoutesDeps {
  backing: MvdsRemoteLogBacking;
  catchUp: MvdsCatchUp;
}

/** Most entries one catch-up handles. */
export const MAX_CATCH_UP_LIMIT = 10_000;
/** A catch-up may first mirror a whole log from another gateway. */
const CATCH_UP_TIMEOUT_MS = 300_000;

const TAGS = ["mvds"];
const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const BackingBody = z.object({
  mode: z.enum(["full", "paged", "linked"]),
  pageSize: z.number().int().min(1).max(10_000).optional().openapi({
    description: "pairs per page of a `paged` log; default 100 (ignored by the other modes)",
  }),
}).strict();

const BackingJson = z.object({
  name: z.string().openapi({ description: "the log's IPNS name: read it at /logs/{name}" }),
  mode: z.enum(["full", "paged", "linked"]),
  pageSize: z.number().optional(),
  since: z.string().openapi({ description: "messages sent from then on are appended" }),
  head: z.string().nullable().openapi({ description: "CID of the head page" }),
  sequence: z.string().openapi({ description: "IPNS sequence of the head (decimal)" }),
  count: z.number().openapi({ description: "entries in the log" }),
  pending: z.number().openapi({ description: "sent messages not appended yet (retried)" }),
}).openapi("MvdsRemoteLog");

const CatchUpBody = z.object({
  name: z.string().min(1).max(512).openapi({ description: "the log's IPNS name" }),
  from: z.string().url().max(2048).optional().openapi({
    description: "a gateway to mirror the log from first: the base URL of one of the node's " +
      "peers (`<base>` of its url `<base>/mvds/nodes/<id>/payloads`); absent: the log is read here",
  }),
  peer: NodeId.optional().openapi({
    description: "the peer that writes the log (its messages are stored as from it, and " +
      "ACKed to it); not needed for a log this gateway writes for one of its nodes",
  }),
  limit: z.number().int().min(1).max(MAX_CATCH_UP_LIMIT).default(1000).openapi({
    description: "most entries handled by this request; `next` says more follow",
  }),
  restart: z.boolean().default(false).openapi({
    description: "read the log from its start, not from where the last catch-up stopped",
  }),
}).strict();

const CatchUpJson = z.object({
  name: z.string(),
  peer: z.string(),
  fetched: z.number().openapi({ description: "entries read from the log" }),
  stored: z.number().openapi({ description: "messages stored as new (ACKed to the peer)" }),
  skipped: z.number().openapi({ description: "messages held already" }),
  invalid: z.number().openapi({
    description: "entries that are no MVDS message of the group with the entry's localHash as " +
      "its id (or too large): never stored",
  }),
  last: z.string().nullable().openapi({ description: "localHash of the last entry handled" }),
  next: z.string().optional().openapi({ description: "more entries follow: call again" }),
  mirrorError: z.string().optional().openapi({
    description: "the mirror sync from `from` failed; the copy mirrored before was read",
  }),
}).openapi("MvdsCatchUp");

function backingJson(v: BackingView) {
  const b = v.backing;
  return {
    name: b.name,
    mode: b.mode,
    ...(b.mode !== "full" ? { pageSize: b.pageSize } : {}),
    since: new Date(b.since).toISOString(),
    head: v.info.head?.text ?? null,
    sequence: String(v.info.sequence),
    count: v.info.count ?? 0,
    pending: v.pending,
  };
}

function catchUpJson(r: CatchUpResult) {
  return {
    name: r.name,
    peer: toHex0x(r.peer),
    fetched: r.fetched,
    stored: r.stored,
    skipped: r.skipped,
    invalid: r.invalid,
    last: r.last ? toHex0x(r.last) : null,
    ...(r.next ? { next: toHex0x(r.next) } : {}),
    ...(r.mirrorError ? { mirrorError: r.mirrorError } : {}),
  };
}

export function mvdsRemoteLogRoutes(routes: Routes, deps: MvdsRemoteLogRoutesDeps): void {
  const path = "/mvds/nodes/{node}/groups/{group}/remote-log";

  routes.define({
    method: "put",
    path,
    tags: TAGS,
    summary: "Back a group by a remote log",
    description: "Creates a remote log on this gateway (`mode`, `pageSize` as `POST /logs`) and " +
      "appends to it every message the node sends in the group from now on: localHash = the " +
      "MVDS message id, content = the encoded MVDS Message (protobuf), so readers recompute the " +
      "id. Messages sent before are not appended. Once: the same settings again are 200 with " +
      "the same log, other settings 409. The log's write token stays with the gateway.",
    params: GroupParams,
    body: { json: BackingBody },
    responses: {
      201: json(BackingJson, "Backed"),
      200: json(BackingJson, "Backed already, with these settings"),
    },
  }, async (c, { params, body }) => {
    const [node, group] = [idBytes(params.node), idBytes(params.group)];
    const { created } = await deps.backing.back(node, group, body!);
    return c.json(backingJson(await deps.backing.show(node, group)), created ? 201 : 200);
  });

  routes.define(
    {
      method: "get",
      path,
      tags: TAGS,
      summary: "The remote log backing a group",
      description:
        "The log's name, settings, head, sequence and entry count, and `pending`: sent " +
        "messages whose append failed or is under way (retried in the background). 404 when the " +
        "group is not backed.",
      params: GroupParams,
      responses: { 200: json(BackingJson, "The backing") },
    },
    async (c, { params }) =>
      c.json(backingJson(await deps.backing.show(idBytes(params.node), idBytes(params.group)))),
  );

  routes.define({
    method: "post",
    path: "/mvds/nodes/{node}/groups/{group}/catch-up",
    tags: TAGS,
    summary: "Catch a group up from a peer's remote log",
    description: "Reads the log `name` (here, or first mirrored from `from`, which must be the " +
      "gateway of one of the node's peers: 403 otherwise), oldest entry first, from where the " +
      "last catch-up of this group from this log stopped. Each entry must be an MVDS Message " +
      "of the group whose id is the entry's localHash (else `invalid`, never stored); those the " +
      "node lacks are stored as received from `peer`, and ACKed to it in the node's next " +
      "payload, so it stops retransmitting them. At most `limit` entries a request; `next` " +
      "says call again. `peer` not a peer of the node, or not sharing the group: 400.",
    params: GroupParams,
    body: { json: CatchUpBody },
    timeoutMs: CATCH_UP_TIMEOUT_MS,
    responses: { 200: json(CatchUpJson, "Caught up (as far as `limit`)") },
  }, async (c, { params, body }) => {
    const b = body!;
    const r = await deps.catchUp.catchUp(idBytes(params.node), idBytes(params.group), {
      name: b.name,
      from: b.from,
      peer: b.peer === undefined ? undefined : idBytes(b.peer),
      limit: b.limit,
      restart: b.restart,
    });
    return c.json(catchUpJson(r));
  });
}

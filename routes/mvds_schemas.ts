/**
 * zod schemas of the MVDS routes, and the JSON they answer with. Ids (nodes,
 * peers, groups, messages) are hex: taken with or without `0x`, in any case;
 * answered as lower-case `0x`-hex, the house form for ids. Bodies are
 * base64; timestamps are Unix seconds (JSON numbers; decimal strings are
 * taken too, and a received timestamp beyond ±2^53 is answered as one).
 */
import { z } from "@hono/zod-openapi";
import { fromHex0x, toHex0x } from "../lib/bytes.ts";
import { MESSAGE_ID_BYTES } from "../protocols/mvds/proto.ts";
import { timestampJson } from "../services/mvds_events.ts";
import type { DeliveryState, NodeInfo } from "../services/mvds_service.ts";
import type { NodeConfig, StoredMessage } from "../storage/mvds_repo.ts";
import { MVDS_LIMITS } from "../services/mvds_service.ts";
import { base64Bytes, exactInt64 } from "./define.ts";

/** Hex of 1–`max` bytes, `0x` optional. */
const hex = (max: number, what: string) =>
  z.string().regex(
    new RegExp(`^(0[xX])?([0-9a-fA-F]{2}){1,${max}}$`),
    `must be ${what}: hex (0x optional) of 1–${max} bytes`,
  ).openapi({ example: "0x" + "ab".repeat(Math.min(max, 32)) });

/** Longest node or peer id, in bytes. */
export const MAX_NODE_ID_BYTES = 64;

export const NodeId = hex(MAX_NODE_ID_BYTES, "a node id");
export const GroupId = hex(MVDS_LIMITS.groupIdBytes, "a group id");
export const MessageId = z.string().regex(
  new RegExp(`^(0[xX])?[0-9a-fA-F]{${2 * MESSAGE_ID_BYTES}}$`),
  `must be a message id: hex (0x optional) of ${MESSAGE_ID_BYTES} bytes`,
);

/** The bytes of a validated hex id. */
export const idBytes = (text: string): Uint8Array => fromHex0x(text);

export const NodeParams = z.object({ node: NodeId });
export const GroupParams = z.object({ node: NodeId, group: GroupId });
export const MessageParams = z.object({ node: NodeId, id: MessageId });

const positive = (max: number) => z.number().int().min(1).max(max);

export const CreateNodeBody = z.object({
  mode: z.enum(["batch", "interactive"]),
  id: NodeId.optional().openapi({ description: "default: 32 random bytes" }),
  epochMs: positive(3_600_000).optional().openapi({ description: "default 1000" }),
  backoffCapEpochs: positive(1_000_000).optional().openapi({
    description: "largest gap between two sends of a record, in epochs; default 64",
  }),
  maxSendCount: positive(1_000_000).optional().openapi({
    description: "sends after which a record is dropped and the message marked failed for " +
      "that peer; default unlimited (as the spec)",
  }),
}).strict();

export const PeerBody = z.object({
  id: NodeId,
  url: z.string().url().max(2048).refine((u) => /^https?:\/\//i.test(u), "must be http(s)")
    // A user:password in the url would be shown by GET and logged: refuse it.
    .refine((u) => !/^https?:\/\/[^/?#]*@/i.test(u), "must not carry a user or password")
    .optional().openapi({
      description: "where the peer takes payloads over HTTP (another gateway: " +
        "`<base>/mvds/nodes/<id>/payloads`); absent: the peer connects by WebSocket",
    }),
}).strict();

export const GroupPeerBody = z.object({ peer: NodeId }).strict();

const Seconds = exactInt64(
  z.union([z.string().regex(/^-?\d{1,19}$/, "must be an integer (seconds)"), z.number().int()])
    .transform((v, ctx) => {
      const b = BigInt(v);
      if (b < -(1n << 63n) || b >= 1n << 63n) {
        ctx.addIssue({ code: "custom", message: "does not fit a signed 64-bit integer" });
        return z.NEVER;
      }
      return b;
    }),
);

export const SendBody = z.object({
  body: base64Bytes("is not valid base64").openapi({ description: "base64", type: "string" }),
  timestamp: Seconds.optional().openapi({
    description: "Unix seconds; default now",
    type: "integer",
  }),
}).strict();

export const MessagesQuery = z.object({
  after: MessageId.optional().openapi({ description: "the id of the last message seen" }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const WsQuery = z.object({ peer: NodeId });

// ---- answers ----

export const NodeJson = z.object({
  id: z.string(),
  mode: z.enum(["batch", "interactive"]),
  epochMs: z.number(),
  backoffCapEpochs: z.number(),
  maxSendCount: z.number().optional(),
  createdAt: z.string(),
}).openapi("MvdsNode");

export const NodeInfoJson = NodeJson.extend({
  epoch: z.number().openapi({ description: "the node's current epoch: floor(now / epochMs)" }),
  messages: z.number().openapi({ description: "messages held" }),
  records: z.number().openapi({ description: "records pending (OFFER, REQUEST, MESSAGE)" }),
  peers: z.array(z.object({
    id: z.string(),
    url: z.string().optional(),
    lastHeardEpoch: z.number().optional(),
  })),
}).openapi("MvdsNodeInfo");

export const MessageJson = z.object({
  id: z.string(),
  groupId: z.string(),
  timestamp: z.union([z.number(), z.string()]),
  body: z.string(),
  from: z.string().optional(),
}).openapi("MvdsMessage");

export const DeliveryJson = z.object({
  state: z.enum(["offered", "requested", "sent", "acked", "failed"]),
  sendCount: z.number(),
  sendEpoch: z.number(),
});

export function nodeJson(id: Uint8Array, c: NodeConfig) {
  return {
    id: toHex0x(id),
    mode: c.mode,
    epochMs: c.epochMs,
    backoffCapEpochs: c.backoffCapEpochs,
    ...(c.maxSendCount !== undefined ? { maxSendCount: c.maxSendCount } : {}),
    createdAt: new Date(c.createdAt).toISOString(),
  };
}

export function nodeInfoJson(info: NodeInfo) {
  return {
    ...nodeJson(info.id, info.config),
    epoch: info.epoch,
    messages: info.counts.messages,
    records: info.counts.records,
    peers: info.peers.map(({ peer, info: p }) => ({
      id: toHex0x(peer),
      ...(p.url ? { url: p.url } : {}),
      ...(p.lastHeardEpoch !== undefined ? { lastHeardEpoch: p.lastHeardEpoch } : {}),
    })),
  };
}

export function messageJson(id: Uint8Array, m: StoredMessage) {
  return {
    id: toHex0x(id),
    groupId: toHex0x(m.groupId),
    timestamp: timestampJson(m.timestamp),
    body: m.body.toBase64(),
    ...(m.from ? { from: toHex0x(m.from) } : {}),
  };
}

export function deliveryJson(d: ReadonlyMap<string, DeliveryState>) {
  return Object.fromEntries(d);
}

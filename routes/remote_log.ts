/**
 * Remote logs over HTTP: Alice creates a log and appends to it (the gateway
 * signs), Bob reads any log a name resolves to, page by page, and follows
 * new entries live (WebSocket or SSE).
 */
import { z } from "@hono/zod-openapi";
import { HttpError } from "../error.ts";
import { fromHex0x, toHex0x } from "../lib/bytes.ts";
import type { Metrics } from "../lib/metrics.ts";
import { bearerToken } from "../middleware/auth.ts";
import type { LiveHub } from "../services/live_hub.ts";
import {
  type LogInfo,
  REMOTE_LOG_CHANNEL,
  type RemoteLogService,
} from "../services/remote_log_service.ts";
import type { RemoteLogMirror } from "../services/remote_log_mirror.ts";
import type { MirrorState } from "../storage/remote_log_repo.ts";
import { MAX_HASH_BYTES } from "../protocols/remotelog/remote_log.ts";
import { UPLOAD_TIMEOUT_MS } from "./cas.ts";
import { requestBody, type Routes } from "./define.ts";
import { liveSse, liveWebSocket } from "./live.ts";

/** Most entries one read returns. */
export const MAX_ENTRIES_LIMIT = 1000;

// As long as a page holds (a digest or a CID), so every `next` a read gives is a valid `after`.
const Hex = z.string().regex(
  new RegExp(`^0x([0-9a-fA-F]{2}){1,${MAX_HASH_BYTES}}$`),
  `0x and 1–${MAX_HASH_BYTES} bytes of hex`,
);
const NameParams = z.object({ name: z.string().min(1).max(512) });
const CreateBody = z.object({
  mode: z.enum(["full", "paged", "linked"]),
  pageSize: z.number().int().min(1).max(10_000).optional(),
}).strict();
const EntriesQuery = z.object({
  after: Hex.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_ENTRIES_LIMIT).default(100),
});
const LogJson = z.object({
  name: z.string(),
  mode: z.enum(["full", "paged", "linked", "unknown"]),
  head: z.string().nullable().openapi({ description: "CID of the head page" }),
  sequence: z.string().openapi({ description: "IPNS sequence of the head (decimal)" }),
  count: z.number().int().optional(),
});
const EntryJson = z.object({ localHash: z.string(), remoteHash: z.string(), data: z.string() });

function logJson(info: LogInfo) {
  return {
    name: info.name,
    mode: info.mode,
    head: info.head?.text ?? null,
    sequence: String(info.sequence),
    ...(info.count !== undefined ? { count: info.count } : {}),
  };
}

export interface RemoteLogRoutesDeps {
  logs: RemoteLogService;
  mirror: RemoteLogMirror;
  hub: LiveHub;
  metrics: Metrics;
  maxEntryBytes: number;
  liveBufferBytes: number;
  frameLimit: number;
}

export function remoteLogRoutes(routes: Routes, deps: RemoteLogRoutesDeps): void {
  const { logs } = deps;

  routes.define({
    method: "post",
    path: "/logs",
    tags: ["remote log"],
    summary: "Create a log this gateway writes (Alice for clients that do not sign)",
    description: "The gateway makes the log's Ed25519 key, keeps it, and signs a new IPNS " +
      "record (sequence + 1) on every append. `full`: the name points at one page of every " +
      "pair; `paged`: at the newest page of at most `pageSize` pairs (default 100), whose tail " +
      "is the previous page; `linked`: pages of one pair. The write token is shown once.",
    body: { json: CreateBody },
    responses: {
      201: {
        description: "Created",
        content: {
          "application/json": { schema: z.object({ name: z.string(), writeToken: z.string() }) },
        },
      },
    },
  }, async (c, { body }) => {
    const created = await logs.create(body!.mode, body!.pageSize ?? 100);
    return c.json(created, 201);
  });

  routes.define({
    method: "post",
    path: "/logs/{name}/entries",
    tags: ["remote log"],
    summary: "Append an entry (raw body) to a log written here",
    description: "`Authorization: Bearer <writeToken>` of the log (the API key is not asked: " +
      "creating the log needed it, and the token is the log's own). `X-Local-Hash: 0x…` is the " +
      "entry's id in the writer's local log (e.g. an MVDS message id); default: the content's " +
      "SHA-256. A localHash the log has already is 409 (readers resume after a localHash, so it " +
      "names one entry). The content goes to CAS (remoteHash = its CID). Concurrent appends take turns.",
    params: NameParams,
    body: { raw: ["application/octet-stream"], description: "The entry's content" },
    bodyLimit: deps.maxEntryBytes,
    // An entry is as large as a CAS upload, and streams in as slowly.
    timeoutMs: UPLOAD_TIMEOUT_MS,
    access: "read",
    responses: {
      201: {
        description: "Appended",
        content: {
          "application/json": {
            schema: z.object({
              localHash: z.string(),
              remoteHash: z.string(),
              sequence: z.string(),
            }),
          },
        },
      },
    },
  }, async (c, { params }) => {
    const given = c.req.header("x-local-hash");
    let localHash: Uint8Array | undefined;
    if (given !== undefined) {
      const ok = Hex.safeParse(given);
      if (!ok.success) {
        throw new HttpError(400, "Bad Request", {
          detail: `X-Local-Hash must be 0x and 1–${MAX_HASH_BYTES} bytes of hex`,
        });
      }
      localHash = fromHex0x(given);
    }
    const body = requestBody(c);
    const a = await logs.append(params.name, bearerToken(c), body, localHash);
    return c.json({
      localHash: toHex0x(a.localHash),
      remoteHash: a.remoteHash.text,
      sequence: String(a.sequence),
    }, 201);
  });

  routes.define({
    method: "get",
    path: "/logs/{name}",
    tags: ["remote log"],
    summary: "A log's mode, head page, sequence and count (Bob)",
    description: "For a log this gateway writes, from its state; for any other name, from the " +
      "IPNS record it resolves to (mode `unknown`, no count).",
    params: NameParams,
    responses: {
      200: { description: "The log", content: { "application/json": { schema: LogJson } } },
    },
  }, async (c, { params }) => c.json(logJson(await logs.info(params.name))));

  routes.define({
    method: "get",
    path: "/logs/{name}/entries",
    tags: ["remote log"],
    summary: "Entries after a localHash, oldest first, with their content (Bob)",
    description: "Walks pages from the head back until it meets `after` (or the first page) " +
      "and returns the entries after it, oldest first, at most `limit`; `next` is the " +
      "localHash to pass as `after` for the rest. An unknown `after` is 404.",
    params: NameParams,
    query: EntriesQuery,
    responses: {
      200: {
        description: "Entries",
        content: {
          "application/json": {
            schema: z.object({ entries: z.array(EntryJson), next: z.string().optional() }),
          },
        },
      },
    },
  }, async (c, { params, query }) => {
    const after = query.after ? fromHex0x(query.after) : undefined;
    const got = await logs.entries(params.name, after, query.limit);
    return c.json({
      entries: got.entries.map((e) => ({
        localHash: toHex0x(e.localHash),
        remoteHash: e.remoteHash.text,
        data: e.data.toBase64(),
      })),
      ...(got.next ? { next: toHex0x(got.next) } : {}),
    });
  });

  const mirrorJson = (name: string, s: MirrorState) => ({
    name,
    from: s.from,
    sequence: String(s.sequence),
    since: new Date(s.since).toISOString(),
    ...(s.error ? { error: s.error } : {}),
  });
  const MirrorJson = z.object({
    name: z.string(),
    from: z.string(),
    sequence: z.string(),
    since: z.string(),
    error: z.string().optional(),
    synced: z.object({ pages: z.number(), entries: z.number() }).optional(),
  });

  routes.define({
    method: "post",
    path: "/logs/{name}/mirror",
    tags: ["remote log"],
    summary: "Follow a log hosted by another gateway",
    description: "`from` must be one of `SYNCGATE_REMOTELOG_PEERS` (the gateway's only outbound " +
      "connections). The gateway syncs now and then every `SYNCGATE_REMOTELOG_MIRROR_INTERVAL` " +
      "seconds: it verifies the other gateway's IPNS record for the name, fetches only the pages " +
      "and entries it lacks (each checked against its CID), and publishes the record here once " +
      "all of it is stored. A failed sync (the other gateway away, a tampered page) is kept in " +
      "`error` and retried.",
    params: NameParams,
    body: { json: z.object({ from: z.string().url().max(2048) }).strict() },
    responses: {
      200: { description: "Following", content: { "application/json": { schema: MirrorJson } } },
    },
  }, async (c, { params, body }) => {
    const { state, synced } = await deps.mirror.follow(params.name, body!.from);
    const name = logs.ns.name(params.name).text;
    return c.json({
      ...mirrorJson(name, state),
      ...(synced ? { synced: { pages: synced.pages, entries: synced.entries } } : {}),
    });
  });

  routes.define({
    method: "get",
    path: "/logs/{name}/mirror",
    tags: ["remote log"],
    summary: "How the mirror of a followed log stands",
    params: NameParams,
    responses: {
      200: { description: "The mirror", content: { "application/json": { schema: MirrorJson } } },
    },
  }, async (c, { params }) => {
    const name = logs.ns.name(params.name).text;
    return c.json(mirrorJson(name, await deps.mirror.state(name)));
  });

  const live = (name: string) => ({
    hub: deps.hub,
    metrics: deps.metrics,
    channel: REMOTE_LOG_CHANNEL,
    matches: (e: { attrs: Record<string, string> }) => e.attrs.name === name,
    bufferBytes: deps.liveBufferBytes,
  });

  routes.define({
    method: "get",
    path: "/logs/{name}/live",
    tags: ["remote log"],
    summary: "New entries of a log as they are appended: WebSocket, or SSE",
    description: "Each frame: `{name, localHash, remoteHash, sequence}`. With `Upgrade: " +
      "websocket` a WebSocket, else a text/event-stream. Entries appended on any gateway " +
      "process sharing this KV arrive.",
    params: NameParams,
    responses: { 200: { description: "An event stream" }, 101: { description: "WebSocket" } },
  }, (c, { params }) => {
    const name = logs.ns.name(params.name).text;
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") {
      return liveWebSocket(c, { ...live(name), maxFrameBytes: deps.frameLimit });
    }
    return liveSse(live(name));
  });
}

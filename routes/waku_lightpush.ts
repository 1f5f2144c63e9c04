/**
 * nwaku's lightpush REST: `POST /lightpush/v1/message` (legacy: answers
 * `OK`) and `/lightpush/v3/message` (answers a status body). This gateway
 * is its own lightpush service: a push is a publish (stored, and out to
 * live subscribers and polling caches). Without `pubsubTopic` the message
 * goes to its content topic's autosharded shard.
 */
import { z } from "@hono/zod-openapi";
import { HttpError } from "../error.ts";
import { toHex0x } from "../lib/bytes.ts";
import { autoshard, type Sharding } from "../protocols/waku/autosharding.ts";
import { isEmptyOrWhitespace } from "../protocols/waku/nim_text.ts";
import type { WakuService } from "../services/waku_service.ts";
import type { Routes } from "./define.ts";
import {
  type NwakuRefusal,
  PUBLISHED,
  publishedAnswer,
  validateAsNwaku,
} from "./waku_publish_nwaku.ts";
import { AnyTopic, NwakuMessage, toWakuMessage } from "./waku_schemas.ts";

/** nwaku's PushRequest: an optional pubsub topic ("" = none) and a message. */
const PushRequest = z.object({
  pubsubTopic: AnyTopic.optional(),
  message: NwakuMessage,
}).openapi("PushRequest");

/** nwaku's PushResponse, with the message's hash besides. */
const PushResponse = z.object({
  relayPeerCount: z.number().optional(),
  statusDesc: z.string().optional(),
  messageHash: z.string().optional(),
}).openapi("PushResponse");

const TAGS = ["waku lightpush"];

export interface LightpushDeps {
  waku: WakuService;
  sharding: Sharding;
}

/** The words a version uses when autosharding cannot place a message (nwaku's). */
interface ShardWords {
  staticSharding: string;
  badTopic: string;
  generation: string;
}

/**
 * The pubsub topic of a push: the request's, else its content topic's
 * shard; a failure is a 400 in the version's words.
 */
function pushTopic(
  pubsubTopic: string | undefined,
  contentTopic: string,
  sharding: Sharding,
  words: ShardWords,
  fail: (text: string) => HttpError,
): string {
  if (pubsubTopic) return pubsubTopic;
  if (sharding.shards === 0) throw fail(words.staticSharding);
  try {
    return autoshard(contentTopic, sharding);
  } catch (e) {
    // autoshard throws RangeError for a generation it has no rule for, SyntaxError for the rest.
    throw fail(
      (e instanceof RangeError ? words.generation : words.badTopic) + (e as Error).message,
    );
  }
}

const STATIC = "Pubsub topic must be specified when static sharding is enabled";

/** Mounts both lightpush routes. */
export function wakuLightpushRoutes(routes: Routes, deps: LightpushDeps): void {
  const { waku, sharding } = deps;

  const v1Prefix = "Failed to request a message push: ";
  routes.define({
    method: "post",
    path: "/lightpush/v1/message",
    tags: TAGS,
    summary: "Push a message (legacy lightpush)",
    description: "Publishes the message (stored unless ephemeral). Refusals are 400s saying " +
      "`Failed to request a message push: …` in nwaku's words. `Accept: text/plain` answers " +
      "`OK`, as nwaku; otherwise `{messageHash}`.",
    body: { json: PushRequest },
    responses: PUBLISHED,
  }, async (c, { body }) => {
    const message = toWakuMessage(body!.message);
    const fail = (text: string) => new HttpError(400, undefined, { detail: v1Prefix + text });
    const pubsubTopic = pushTopic(body!.pubsubTopic, message.contentTopic, sharding, {
      staticSharding: STATIC,
      badTopic: "Cannot parse content topic: ",
      generation: "Cannot deduce shard from content topic: ",
    }, fail);
    const p = validateAsNwaku(waku, { pubsubTopic, message }, { prefix: v1Prefix });
    return publishedAnswer(c, (await waku.publish(p)).hash);
  });

  const v3: NwakuRefusal = {
    prefix: "",
    tooLargeStatus: 413,
    members: (statusDesc) => ({ statusDesc }),
  };
  routes.define({
    method: "post",
    path: "/lightpush/v3/message",
    tags: TAGS,
    summary: "Push a message (lightpush v3, with a status body)",
    description: "Publishes the message (stored unless ephemeral) and answers nwaku's " +
      "PushResponse: `{relayPeerCount}` (this gateway counts as the one relay peer that took " +
      "it; nwaku's clients read 0 as NO_PEERS_TO_RELAY), with `messageHash` besides. A " +
      "refusal is a problem carrying nwaku's `statusDesc`: 400 for a bad request or message, " +
      "413 for a message over the size limit.",
    body: { json: PushRequest },
    problemMembers: (p) => ({ statusDesc: `Invalid push request! ${p.init.detail ?? p.message}` }),
    responses: {
      200: { description: "Pushed", content: { "application/json": { schema: PushResponse } } },
    },
  }, async (c, { body }) => {
    const message = toWakuMessage(body!.message);
    const fail = (statusDesc: string) =>
      new HttpError(400, undefined, { detail: statusDesc, extensions: { statusDesc } });
    const topic = body!.pubsubTopic;
    if (topic && isEmptyOrWhitespace(topic)) throw fail("topic must not be empty");
    const pubsubTopic = pushTopic(topic, message.contentTopic, sharding, {
      staticSharding: STATIC,
      badTopic: "Invalid content-topic:",
      generation: "Autosharding error: ",
    }, fail);
    const r = await waku.publish(validateAsNwaku(waku, { pubsubTopic, message }, v3));
    return c.json({ relayPeerCount: 1, messageHash: toHex0x(r.hash) });
  });
}

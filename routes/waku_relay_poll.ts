/**
 * nwaku's relay REST beyond publishing: subscribe to pubsub topics (or,
 * with autosharding, to content topics), poll the messages received on them
 * since the last poll, and publish by content topic alone. Subscriptions
 * are kept in KV; messages wait in the relay cache (services/waku_poll_cache.ts).
 * Successes answer nwaku's `OK` (text/plain); errors are problems whose
 * detail is nwaku's text.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HttpError } from "../error.ts";
import { autoshard, parseStaticShard, type Sharding } from "../protocols/waku/autosharding.ts";
import type { WakuPollCache } from "../services/waku_poll_cache.ts";
import type { WakuService } from "../services/waku_service.ts";
import type { Topics } from "../storage/waku_subscriptions.ts";
import type { Routes } from "./define.ts";
import { polledAnswer } from "./waku_poll_json.ts";
import { PUBLISHED, publishedAnswer, validateAsNwaku } from "./waku_publish_nwaku.ts";
import {
  ContentTopicParam,
  NwakuMessage,
  PubsubTopicParam,
  TopicList,
  toWakuMessage,
} from "./waku_schemas.ts";

/** Most subscriptions of each kind (pubsub topics; content topics): a cluster has at most 1024 shards. */
export const MAX_RELAY_SUBSCRIPTIONS = 2048;

export interface RelayPollDeps {
  waku: WakuService;
  /** The relay cache: subscriptions of kinds "relay" and "auto". */
  relay: WakuPollCache;
  sharding: Sharding;
}

const TAGS = ["waku relay"];
const OK = {
  200: {
    description: "Done",
    content: { "text/plain": { schema: z.string().openapi({ example: "OK" }) } },
  },
};
const MESSAGES = {
  200: {
    description: "The messages received since the last poll (taken: the next poll has only newer)",
    content: { "application/json": { schema: z.array(NwakuMessage) } },
  },
};

const badRequest = (detail: string) => new HttpError(400, undefined, { detail });
const ok = (c: Context) => c.text("OK");

/** Topics as Nim writes a seq of strings: `@["a", "b"]`. */
const nimSeq = (items: readonly string[]) => `@[${items.map((t) => JSON.stringify(t)).join(", ")}]`;

/**
 * Each content topic with its autosharded pubsub topic; a failure is a 400
 * worded as nwaku's node.subscribe (`<verb> failed:…`).
 */
function withShards(contentTopics: readonly string[], sharding: Sharding, verb: string): Topics[] {
  if (sharding.shards === 0) {
    throw badRequest(
      `${verb} failed:Static sharding is used, relay subscriptions must specify a pubsub topic`,
    );
  }
  return contentTopics.map((ct) => {
    try {
      return [ct, autoshard(ct, sharding)];
    } catch (e) {
      throw badRequest(`${verb} failed:Autosharding error: ${(e as Error).message}`);
    }
  });
}

/** Mounts the relay subscription, polling and content-topic publish routes. */
export function wakuRelayPollRoutes(routes: Routes, deps: RelayPollDeps): void {
  const { waku, relay, sharding } = deps;

  /** Takes what waits on a subscribed topic; a topic not subscribed is a 404 naming it. */
  const poll = async (c: Context, by: "pubsub" | "content", topic: string) => {
    if (!await relay.isSubscribed(by === "pubsub" ? "relay" : "auto", [topic])) {
      throw new HttpError(404, undefined, {
        detail: `not subscribed to this ${by} topic: ${topic}`,
      });
    }
    return polledAnswer(c, () => relay.poll(by, topic), "relay");
  };

  for (const [method, verb] of [["post", "Subscribe"], ["delete", "Unsubscribe"]] as const) {
    const change = (kind: "relay" | "auto", subs: Topics[]) =>
      method === "post" ? relay.subscribe(kind, subs) : relay.unsubscribe(kind, subs);

    routes.define({
      method,
      path: "/relay/v1/subscriptions",
      tags: TAGS,
      summary: `${verb} pubsub topics (polled with GET /relay/v1/messages/{pubsubTopic})`,
      description: "A JSON array of static-shard pubsub topics (`/waku/2/rs/<cluster>/<shard>`); " +
        "any other is a 400 `Invalid pubsub topic(s): @[…]`. Subscriptions are kept across " +
        `restarts, at most ${MAX_RELAY_SUBSCRIPTIONS} (more is a 409). Unsubscribing a topic ` +
        "not subscribed is no error.",
      body: { json: TopicList(MAX_RELAY_SUBSCRIPTIONS) },
      responses: OK,
    }, async (c, { body }) => {
      const invalid = body!.filter((t) => {
        try {
          parseStaticShard(t);
          return false;
        } catch {
          return true;
        }
      });
      if (invalid.length) throw badRequest(`Invalid pubsub topic(s): ${nimSeq(invalid)}`);
      await change("relay", body!.map((t) => [t]));
      return ok(c);
    });

    routes.define({
      method,
      path: "/relay/v1/auto/subscriptions",
      tags: TAGS,
      summary: `${verb} content topics (autosharding; polled with GET /relay/v1/auto/messages/…)`,
      description: "A JSON array of content topics (`/app/version/name/encoding`). A message is " +
        "kept for a content topic when it comes on that topic's autosharded pubsub topic. A " +
        `topic autosharding cannot place is a 400 \`${verb} failed:Autosharding error: …\`, as ` +
        "is any with static sharding (SYNCGATE_WAKU_SHARDS=0).",
      body: { json: TopicList(MAX_RELAY_SUBSCRIPTIONS) },
      responses: OK,
    }, async (c, { body }) => {
      await change("auto", withShards(body!, sharding, verb));
      return ok(c);
    });
  }

  routes.define({
    method: "get",
    path: "/relay/v1/messages/{pubsubTopic}",
    tags: TAGS,
    summary: "Messages received on a subscribed pubsub topic since the last poll",
    description: "Taken from the relay cache (at most SYNCGATE_WAKU_RELAY_CACHE_CAPACITY " +
      "messages over all topics; the oldest goes when it is full). Each message has `proof` " +
      '("" when none). A topic not subscribed is a 404.',
    params: PubsubTopicParam,
    responses: MESSAGES,
  }, (c, { params }) => poll(c, "pubsub", params.pubsubTopic));

  routes.define({
    method: "get",
    path: "/relay/v1/auto/messages/{contentTopic}",
    tags: TAGS,
    summary: "Messages received on a subscribed content topic since the last poll",
    description: "As GET /relay/v1/messages/{pubsubTopic}, by content topic; a content topic " +
      "not subscribed is a 404 naming it.",
    params: ContentTopicParam,
    responses: MESSAGES,
  }, (c, { params }) => poll(c, "content", params.contentTopic));

  routes.define({
    method: "post",
    path: "/relay/v1/auto/messages",
    tags: TAGS,
    summary: "Publish a message on its content topic's autosharded pubsub topic",
    description: "nwaku's JSON message; its pubsub topic is the autosharded shard of its " +
      "content topic. Errors as nwaku: `Failed to publish. Autosharding is disabled`, " +
      "`Failed to publish. Autosharding error: …`, `Failed to publish: …`. " +
      "`Accept: text/plain` answers `OK`.",
    body: { json: NwakuMessage },
    responses: PUBLISHED,
  }, async (c, { body }) => {
    if (sharding.shards === 0) throw badRequest("Failed to publish. Autosharding is disabled");
    const message = toWakuMessage(body!);
    let pubsubTopic;
    try {
      pubsubTopic = autoshard(message.contentTopic, sharding);
    } catch (e) {
      throw badRequest(`Failed to publish. Autosharding error: ${(e as Error).message}`);
    }
    const p = validateAsNwaku(waku, { pubsubTopic, message }, { prefix: "Failed to publish: " });
    return publishedAnswer(c, (await waku.publish(p)).hash);
  });
}

/**
 * nwaku's filter v2 REST. nwaku subscribes, through its filter client, at a
 * filter service peer; this gateway is that service itself, for one
 * subscriber: its REST clients. Criteria (content topic, pubsub topic) are
 * kept in KV; the messages they match wait in the filter cache for
 * `GET /filter/v2/messages/{contentTopic}`. Answers are nwaku's
 * `{requestId, statusDesc}`; errors are problems that carry both besides.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HttpError } from "../error.ts";
import { ConflictError } from "../lib/errors.ts";
import { autoshard, type Sharding } from "../protocols/waku/autosharding.ts";
import type { WakuPollCache } from "../services/waku_poll_cache.ts";
import type { Topics } from "../storage/waku_subscriptions.ts";
import type { Routes } from "./define.ts";
import { polledAnswer } from "./waku_poll_json.ts";
import { AnyTopic, ContentTopicParam, RelayMessage } from "./waku_schemas.ts";

/** nwaku's limits: content topics in one request, and criteria of one subscriber. */
export const MAX_FILTER_TOPICS = 100;
export const MAX_FILTER_CRITERIA = 1000;

const RequestId = z.string({ error: "Field `requestId` is missing" })
  .max(1024, "Field `requestId` is longer than 1024 characters");
const FilterRequest = z.object({
  requestId: RequestId,
  contentFilters: z.array(AnyTopic, { error: "Field `contentFilters` is missing" })
    .min(1, "Field `contentFilters` is empty")
    .max(MAX_FILTER_TOPICS, `exceeds maximum content topics: ${MAX_FILTER_TOPICS}`),
  pubsubTopic: AnyTopic.optional().openapi({ description: 'absent or "": autosharding' }),
}).openapi("FilterSubscribeRequest");
const FilterAllRequest = z.object({ requestId: RequestId }).openapi("FilterUnsubscribeAllRequest");
const FilterResponse = z.object({ requestId: z.string(), statusDesc: z.string() })
  .openapi("FilterSubscriptionResponse");

const TAGS = ["waku filter"];
const ANSWER = {
  200: { description: "OK", content: { "application/json": { schema: FilterResponse } } },
};
/** nwaku's answer to a request it could not decode. */
const undecodable = (p: HttpError) => ({
  requestId: "unknown",
  statusDesc: `BAD_REQUEST: Failed to decode request: ${p.init.detail ?? p.message}`,
});

const NO_SUBSCRIPTIONS = "NOT_FOUND: peer has no subscriptions";

/** A filter error as nwaku's: its HTTP status, and `statusDesc` `<KIND>: <cause>`. */
function filterError(status: number, statusDesc: string, requestId: string, detail = statusDesc) {
  return new HttpError(status, undefined, { detail, extensions: { requestId, statusDesc } });
}

const answer = (c: Context, requestId: string) => c.json({ requestId, statusDesc: "OK" });

/** The criteria of a request: each content topic with the pubsub topic, else its shard. */
function criteria(req: z.infer<typeof FilterRequest>, sharding: Sharding): Topics[] {
  if (req.pubsubTopic) return req.contentFilters.map((ct) => [ct, req.pubsubTopic!]);
  if (sharding.shards === 0) {
    const desc = "BAD_REQUEST: pubsubTopic and contentTopics must be specified";
    throw filterError(400, desc, req.requestId);
  }
  return req.contentFilters.map((ct) => {
    try {
      return [ct, autoshard(ct, sharding)];
    } catch (e) {
      const desc = "BAD_RESPONSE: can't get shard";
      throw filterError(400, desc, req.requestId, `${desc}: ${(e as Error).message}`);
    }
  });
}

export interface FilterDeps {
  /** The filter cache: subscriptions of kind "filter". */
  filter: WakuPollCache;
  sharding: Sharding;
}

/** Mounts the filter v2 routes. */
export function wakuFilterRoutes(routes: Routes, deps: FilterDeps): void {
  const { filter, sharding } = deps;

  for (const method of ["post", "put"] as const) {
    routes.define({
      method,
      path: "/filter/v2/subscriptions",
      tags: TAGS,
      summary: "Subscribe to content topics (filter v2)",
      description: "Adds a criterion (content topic, pubsub topic) for each content topic; " +
        "without `pubsubTopic`, each content topic's autosharded shard. At most " +
        `${MAX_FILTER_TOPICS} content topics a request and ${MAX_FILTER_CRITERIA} criteria in ` +
        "all (more is a 503 `SERVICE_UNAVAILABLE: peer has reached maximum number of filter " +
        "criteria`). POST and PUT are the same, as in nwaku.",
      body: { json: FilterRequest },
      problemMembers: undecodable,
      responses: ANSWER,
    }, async (c, { body }) => {
      const req = body!;
      try {
        await filter.subscribe("filter", criteria(req, sharding));
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
        const desc = "SERVICE_UNAVAILABLE: peer has reached maximum number of filter criteria";
        // Answered, not thrown: a limit reached is no failure for the log.
        return filterError(503, desc, req.requestId, `${desc} (${MAX_FILTER_CRITERIA})`)
          .getResponse(c.req.path);
      }
      return answer(c, req.requestId);
    });
  }

  routes.define({
    method: "delete",
    path: "/filter/v2/subscriptions",
    tags: TAGS,
    summary: "Unsubscribe from content topics (filter v2)",
    description: "Removes the criteria; if any was not subscribed, the others are removed and " +
      `the answer is a 404 \`${NO_SUBSCRIPTIONS}\`, as nwaku's filter service answers.`,
    body: { json: FilterRequest },
    problemMembers: undecodable,
    responses: ANSWER,
  }, async (c, { body }) => {
    const req = body!;
    const missing = await filter.unsubscribe("filter", criteria(req, sharding));
    if (missing > 0) throw filterError(404, NO_SUBSCRIPTIONS, req.requestId);
    return answer(c, req.requestId);
  });

  routes.define({
    method: "delete",
    path: "/filter/v2/subscriptions/all",
    tags: TAGS,
    summary: "Unsubscribe from everything (filter v2)",
    description: `With no subscription, a 404 \`${NO_SUBSCRIPTIONS}\`.`,
    body: { json: FilterAllRequest },
    problemMembers: undecodable,
    responses: ANSWER,
  }, async (c, { body }) => {
    if (await filter.unsubscribeAll("filter") === 0) {
      throw filterError(404, NO_SUBSCRIPTIONS, body!.requestId);
    }
    return answer(c, body!.requestId);
  });

  routes.define({
    method: "get",
    path: "/filter/v2/subscriptions/{requestId}",
    tags: TAGS,
    summary: "Ping: whether there are subscriptions (filter v2)",
    description: `200 \`OK\` when there is any subscription, else 404 \`${NO_SUBSCRIPTIONS}\`; ` +
      "`requestId` is the path's.",
    params: z.object({
      requestId: RequestId.openapi({ param: { name: "requestId", in: "path" } }),
    }),
    responses: ANSWER,
  }, async (c, { params }) => {
    if (!await filter.isSubscribed("filter", [])) {
      throw filterError(404, NO_SUBSCRIPTIONS, params.requestId);
    }
    return answer(c, params.requestId);
  });

  routes.define({
    method: "get",
    path: "/filter/v2/messages/{contentTopic}",
    tags: TAGS,
    summary: "Messages received on a subscribed content topic since the last poll (filter v2)",
    description: "Taken from the filter cache (at most 50 messages over all topics, as nwaku's; " +
      "the oldest goes when it is full). Messages have no `proof`. A content topic not " +
      "subscribed is a 400 `Not subscribed to topic: <contentTopic>`.",
    params: ContentTopicParam,
    responses: {
      200: {
        description: "The messages (taken: the next poll has only newer)",
        content: { "application/json": { schema: z.array(RelayMessage) } },
      },
    },
  }, async (c, { params }) => {
    const ct = params.contentTopic;
    if (!await filter.isSubscribed("filter", [ct])) {
      throw new HttpError(400, undefined, { detail: `Not subscribed to topic: ${ct}` });
    }
    return polledAnswer(c, () => filter.poll("content", ct), "filter");
  });
}

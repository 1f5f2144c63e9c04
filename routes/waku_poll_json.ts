/**
 * Messages taken by a poll, as nwaku's polling routes write them: a JSON
 * array of messages. The relay form always has `proof` ("" when the message
 * has none); the filter form never has it.
 */
import type { Context } from "hono";
import { messageToJson } from "../protocols/waku/rest_json.ts";
import type { PolledMessage } from "../services/waku_poll_cache.ts";

/** The messages as nwaku's relay (`proof` always) or filter (no `proof`) JSON array. */
function polledJson(messages: readonly PolledMessage[], form: "relay" | "filter"): string {
  const items = messages.map(({ message }) => {
    if (form === "filter") return messageToJson({ ...message, rateLimitProof: undefined });
    const json = messageToJson(message);
    return message.rateLimitProof?.length ? json : json.slice(0, -1) + ',"proof":""}';
  });
  return `[${items.join(",")}]`;
}

/**
 * Answers a poll (rendered by hand: JSON.stringify cannot write the int64
 * timestamps exactly). A HEAD, which Hono answers with the GET route, takes nothing.
 */
export function polledAnswer(
  c: Context,
  take: () => readonly PolledMessage[],
  form: "relay" | "filter",
): Response {
  const messages = c.req.method === "HEAD" ? [] : take();
  return c.body(polledJson(messages, form), 200, { "content-type": "application/json" });
}

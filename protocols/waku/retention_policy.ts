/**
 * Store retention policies per pubsub topic, in nwaku's vocabulary:
 * `time:<seconds>` (max age) and `capacity:<count>` (max messages).
 *
 * Syntax: `topic=policy[,policy];…`, with `*` for every topic not named.
 * Example: `/waku/2/rs/0/0=time:86400,capacity:100000;*=time:604800`.
 */

/** Limits for one pubsub topic; either may be absent. */
export interface TopicRetention {
  maxAgeSeconds?: number;
  maxCount?: number;
}

/** Per-topic limits plus the default for topics not named. */
export interface RetentionPolicy {
  topics: Map<string, TopicRetention>;
  fallback?: TopicRetention;
}

/** Parses the retention syntax above; throws SyntaxError naming the bad part. */
export function parseRetention(text: string): RetentionPolicy {
  const policy: RetentionPolicy = { topics: new Map() };
  for (const entry of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    const eq = entry.lastIndexOf("=");
    if (eq <= 0) throw new SyntaxError(`Expected "topic=policy" but got "${entry}"`);
    const topic = entry.slice(0, eq).trim();
    const limits: TopicRetention = {};
    for (const part of entry.slice(eq + 1).split(",").map((s) => s.trim())) {
      const m = /^(time|capacity):(\d{1,15})$/.exec(part);
      if (!m || Number(m[2]) < 1) {
        throw new SyntaxError(`Expected "time:<seconds>" or "capacity:<count>" but got "${part}"`);
      }
      if (m[1] === "time") limits.maxAgeSeconds = Number(m[2]);
      else limits.maxCount = Number(m[2]);
    }
    if (topic === "*") policy.fallback = limits;
    else policy.topics.set(topic, limits);
  }
  return policy;
}

/** The limits that apply to a topic, or undefined when it is kept forever. */
export function retentionFor(policy: RetentionPolicy, topic: string): TopicRetention | undefined {
  return policy.topics.get(topic) ?? policy.fallback;
}

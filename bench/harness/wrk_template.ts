/**
 * wrk driving one request made from a template, with any number of wrk
 * threads: where ./wrk.ts replays a list it writes in advance (so the
 * bench knows every message), this one makes each body in wrk's Lua, with
 * `{n}` replaced by a number unique to the run (so every publish is a new
 * message however fast it goes), and needs no list file.
 */
import { invokeWrk } from "./wrk.ts";

/** One request template; `{n}` in the body becomes a unique 15-digit number. */
export interface WrkTemplate {
  method: "GET" | "POST";
  path: string;
  /** JSON; the request then has content-type application/json. */
  body?: string;
}

/** What a run measured. */
export interface WrkRun {
  /** Responses received, and of them not 200 (plus socket errors and timeouts). */
  requests: number;
  errors: number;
  seconds: number;
  /** Latency percentiles in ms (send to last byte). */
  p50: number;
  p99: number;
}

const LUA = `
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  method, path, body, base = args[1], args[2], args[3] or "", tonumber(args[4])
  n, bad = 0, 0
  headers = {}
  if body ~= "" then headers["Content-Type"] = "application/json" end
  plain = wrk.format(method, path, headers, body ~= "" and body or nil)
end
function request()
  if body == "" or not string.find(body, "{n}", 1, true) then return plain end
  n = n + 1
  local id = string.format("%015d", base + tid * 100000000000 + n)
  return wrk.format(method, path, headers, (string.gsub(body, "{n}", id)))
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("bad") end
  local e = summary.errors
  io.write(string.format("WRKRUN %d %d %d %.1f %.1f\\n", summary.requests,
    bad + e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
`;

/**
 * Runs wrk against `baseUrl` with `req` for `seconds` over `connections`.
 * `base` (< 10^14) keeps `{n}` unique across runs: give each run its own.
 * `prefix` runs wrk under another command (e.g. `["taskset", "-c", "1"]`).
 *
 * @example
 * ```ts
 * const body = '{"payload":"aGk=","contentTopic":"/a/1/b/c","timestamp":1732{n}}';
 * await runTemplate("http://127.0.0.1:8000", { method: "POST", path: "/relay/v1/messages/x", body }, {
 *   connections: 200, seconds: 5, threads: 1, base: 0,
 * });
 * ```
 */
export async function runTemplate(
  baseUrl: string,
  req: WrkTemplate,
  opts: { connections: number; seconds: number; threads: number; base: number; prefix?: string[] },
): Promise<WrkRun> {
  const { stdout } = await invokeWrk({
    lua: LUA,
    baseUrl,
    ...opts,
    scriptArgs: () => [req.method, req.path, req.body ?? "", String(opts.base)],
  });
  const m = /WRKRUN (\d+) (\d+) (\d+) (\S+) (\S+)/.exec(stdout);
  if (!m) throw new Error(`wrk gave no result: ${stdout}`);
  return {
    requests: Number(m[1]),
    errors: Number(m[2]),
    seconds: Number(m[3]) / 1e6,
    p50: Number(m[4]) / 1000,
    p99: Number(m[5]) / 1000,
  };
}

/**
 * wrk (Debian's `wrk`, a C load generator) as the bench's HTTP client: at the
 * rates measured here a Deno `fetch` client spends about as much CPU as the
 * gateway it drives, on the same two cores, so it caps what it can measure.
 *
 * Each run replays a list of requests in order (cycling when it runs out) over
 * `connections` keep-alive connections for a fixed time (closed loop: each
 * connection sends its next request when the previous one is answered), as
 * wrk is built to do. The Lua driver below is part of this file; it only
 * reads the request list and counts answers.
 */

/** One HTTP request; `body` (JSON) makes it a POST with content-type application/json. */
export interface WrkRequest {
  method: "GET" | "POST";
  path: string;
  body?: string;
}

export interface WrkResult {
  /** Responses received. */
  requests: number;
  /** Requests sent (up to `connections` more than answered: in flight at the end). */
  sent: number;
  seconds: number;
  /** Latency percentiles in ms, as wrk measures them (send to last byte). */
  p50: number;
  p99: number;
  /** Responses whose status was not 200, plus socket errors and timeouts. */
  errors: number;
  /** The first non-200 answer, for the log. */
  firstError?: string;
  /** CPU seconds wrk used (user + system). */
  cpuSeconds: number;
}

const LUA = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  reqs = {}
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%S+) (%S+) ?(.*)$")
    if body == "" then
      reqs[#reqs + 1] = wrk.format(method, path, {})
    else
      reqs[#reqs + 1] = wrk.format(method, path, {["Content-Type"] = "application/json"}, body)
    end
  end
  sent, bad, first = 0, 0, ""
end
function request()
  sent = sent + 1
  return reqs[((sent - 1) % #reqs) + 1]
end
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if first == "" then first = status .. " " .. string.sub(body or "", 1, 200) end
  end
end
function done(summary, latency, requests)
  local sent, bad, first = 0, 0, ""
  for _, t in ipairs(threads) do
    sent = sent + t:get("sent")
    bad = bad + t:get("bad")
    if first == "" then first = t:get("first") end
  end
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT %d %d %d %.1f %.1f %d %d %s\\n", summary.requests, sent, summary.duration,
    latency:percentile(50), latency:percentile(99), bad,
    e.connect + e.read + e.write + e.timeout, first:gsub("%s", "_")))
end
`;

/** Whether `wrk` can be run here (on PATH and allowed by --allow-run). */
export async function wrkAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", "command -v wrk"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** How one wrk run is started: its Lua script, its flags, and the script's own arguments. */
export interface WrkInvocation {
  lua: string;
  baseUrl: string;
  connections: number;
  seconds: number;
  threads?: number;
  /** Arguments after `--`, for the script's init(); a file named `list` is written from `files`. */
  scriptArgs: (dir: string) => string[];
  /** Files to write into the run's temp dir first (name → text). */
  files?: Record<string, string>;
  /** A command to run wrk under (e.g. `["taskset", "-c", "1"]`). */
  prefix?: string[];
}

/**
 * Runs wrk once in a temp dir of its own; returns its stdout and wrk's own
 * CPU seconds (read through the shell that reaps it: its cutime/cstime).
 */
export async function invokeWrk(
  run: WrkInvocation,
): Promise<{ stdout: string; stderr: string; cpuSeconds: number }> {
  const dir = await Deno.makeTempDir({ prefix: "syncgate-wrk-" });
  try {
    const script = `${dir}/driver.lua`;
    await Deno.writeTextFile(script, run.lua);
    for (const [name, text] of Object.entries(run.files ?? {})) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const threads = run.threads ?? 1;
    const args = [
      ...(run.prefix ?? []),
      "wrk",
      `-t${threads}`,
      `-c${Math.max(run.connections, threads)}`,
      `-d${Math.ceil(run.seconds)}s`,
      "--timeout",
      "60s",
      "-s",
      script,
      run.baseUrl,
      "--",
      ...run.scriptArgs(dir),
    ];
    const out = await new Deno.Command("sh", {
      args: ["-c", '"$@"; rc=$?; cat /proc/$$/stat >&2; exit $rc', "sh", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`wrk failed: ${stdout}\n${stderr}`);
    // /proc/PID/stat: fields after the ")" start at field 3; cutime and cstime are 16 and 17.
    const stat = stderr.slice(stderr.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(stat[13]) + Number(stat[14]);
    return { stdout, stderr, cpuSeconds: ticks / 100 }; // USER_HZ is 100 on Linux
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Replays `reqs` against `baseUrl` with wrk for `seconds`. */
export async function runWrk(
  baseUrl: string,
  reqs: readonly WrkRequest[],
  opts: { connections: number; seconds: number },
): Promise<WrkResult> {
  const { stdout, stderr, cpuSeconds } = await invokeWrk({
    lua: LUA,
    baseUrl,
    ...opts,
    files: {
      "requests.txt": reqs.map((r) =>
        r.body === undefined ? `GET ${r.path}` : `POST ${r.path} ${r.body}`
      ).join("\n") + "\n",
    },
    scriptArgs: (dir) => [`${dir}/requests.txt`],
  });
  const m = /WRKRESULT (\d+) (\d+) (\d+) (\S+) (\S+) (\d+) (\d+) ?(.*)/.exec(stdout);
  if (!m) throw new Error(`wrk gave no result: ${stdout}\n${stderr}`);
  return {
    requests: Number(m[1]),
    sent: Number(m[2]),
    seconds: Number(m[3]) / 1e6,
    p50: Number(m[4]) / 1000,
    p99: Number(m[5]) / 1000,
    errors: Number(m[6]) + Number(m[7]),
    firstError: m[8] ? m[8].replaceAll("_", " ") : undefined,
    cpuSeconds,
  };
}

/**
 * One-line JSON logs with a level threshold. Never log secrets: callers pass
 * only what a person debugging needs.
 */

export type Level = "debug" | "info" | "warn" | "error" | "silent";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** A logger writing one JSON object per line. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether lines at this level are written: lets hot paths skip building their fields. */
  enabled(level: Exclude<Level, "silent">): boolean;
}

/** Creates a logger that drops lines below `level`. */
export function createLogger(level: Level): Logger {
  const at =
    (l: Exclude<Level, "silent">) => (msg: string, fields: Record<string, unknown> = {}) => {
      if (RANK[l] < RANK[level]) return;
      const line = JSON.stringify(
        { time: new Date().toISOString(), level: l, msg, ...fields },
        (_k, v) => typeof v === "bigint" ? v.toString() : v instanceof Error ? describeError(v) : v,
      );
      (l === "error" || l === "warn" ? console.error : console.log)(line);
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    enabled: (l) => RANK[l] >= RANK[level],
  };
}

/** An error as one line, with the chain of its causes: "A: x; caused by B: y". */
export function describeError(e: Error): string {
  let text = `${e.name}: ${e.message}`;
  for (let c = e.cause, depth = 0; c !== undefined && depth < 5; depth++) {
    text += c instanceof Error ? `; caused by ${c.name}: ${c.message}` : `; caused by ${String(c)}`;
    c = c instanceof Error ? c.cause : undefined;
  }
  return text;
}

/**
 * A background task's error logger that writes the same failure at most once
 * per `quietMs` (a task on a timer meets a full disk on every pass), and at
 * once when the failure changes.
 */
export function failureLogger(log: Logger, msg: string, quietMs = 60_000): (e: unknown) => void {
  let last = "";
  let at = -Infinity;
  return (e) => {
    const text = e instanceof Error ? describeError(e) : String(e);
    const now = performance.now();
    if (text === last && now - at < quietMs) return;
    last = text;
    at = now;
    log.error(msg, { error: e });
  };
}

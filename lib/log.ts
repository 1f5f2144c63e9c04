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
        (_k, v) =>
          typeof v === "bigint" ? v.toString() : v instanceof Error ? `${v.name}: ${v.message}` : v,
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

/**
 * Declares routes once: a route's zod schemas go into /openapi.json and the
 * same schemas validate every request; it declares its body (JSON, raw
 * media types read by the handler, or a stream), its body limit and its
 * timeout. Validation failures become 400 problems naming each field (at
 * most MAX_FIELD_PROBLEMS of them, with the count); a body of the wrong
 * media type is a 415; a known path with a wrong method is a 405 with
 * `Allow`. This module knows no protocol: JSON integers are kept exact for
 * the fields a schema marks with exactInt64(), and repeated query
 * parameters are joined for the fields marked with listParam() and refused
 * for the others. A route may take query names in any case, and may add
 * members of its ecosystem's error bodies to the problems it answers.
 */
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { type FieldProblem, HttpError, toHttpError } from "../error.ts";
import { fromBase64 } from "../lib/bytes.ts";
import { parseJsonExact } from "../lib/json_exact.ts";
import { requireApiKey } from "../middleware/auth.ts";
import { limitBody } from "../middleware/body_limit.ts";
import { requestTimeout } from "../middleware/timeout.ts";

type Method = "get" | "post" | "put" | "delete" | "patch";

/** Most field problems a 400 lists; the rest are counted. */
export const MAX_FIELD_PROBLEMS = 20;

/** What a route's body may be. */
export interface BodySpec<B extends z.ZodType> {
  /** `application/json`, read whole (within the body limit) and validated. */
  json?: B;
  /** Other media types; the handler reads those itself (bytes or `c.req.raw.body`). */
  raw?: string[];
  /** The handler reads every body, JSON included, as a stream (counted against the limit). */
  stream?: boolean;
  description?: string;
}

/** A route: OpenAPI metadata, the schemas its input must meet, and its limits. */
export interface RouteDef<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** OpenAPI-style path: `/relay/v1/messages/{pubsubTopic}`. */
  path: string;
  tags: string[];
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  body?: BodySpec<B>;
  /** Largest body in bytes; the gateway's default when absent. */
  bodyLimit?: number;
  /** Longest the handling may take; the gateway's default when absent. */
  timeoutMs?: number;
  /**
   * "write" needs the API key (when one is set); "read" does not. The
   * default is "read" for GET and "write" for every other method; a POST
   * that only reads (a query in a body) says "read".
   */
  access?: "read" | "write";
  /** Query parameter names match whatever their case (nwaku's REST server lower-cases them). */
  caseInsensitiveQuery?: boolean;
  /**
   * Members added to each 4xx problem this route answers, validation ones
   * included: the fields its ecosystem's clients read in an error body
   * (nwaku's `statusDesc`). Members the handler set on its HttpError win.
   */
  problemMembers?: (problem: HttpError) => Record<string, unknown>;
  responses: RouteConfig["responses"];
}

/** What a handler receives after validation. */
export interface Input<P, Q, B> {
  params: P;
  query: Q;
  /** The validated JSON body, or undefined when the request sent a raw media type or a stream. */
  body: B | undefined;
  /** The media type of the body, when there is one. */
  contentType: string | undefined;
}

/** The limits a route without its own gets, and the API key writes need. */
export interface RouteDefaults {
  bodyLimit: number;
  timeoutMs: number;
  apiKey?: string;
}

const problemResponse = {
  description: "Problem (RFC 9457)",
  content: { "application/problem+json": { schema: { type: "object" as const } } },
};
const serverProblemResponse = {
  ...problemResponse,
  description: "Problem (RFC 9457): 503 the store failed or is busy (with Retry-After), " +
    "504 the request took too long, 507 the store is full (nothing of the write was committed)",
};

/** The routes of one app: declares each, and answers wrong methods on known paths. */
export class Routes {
  readonly #methods = new Map<string, Set<string>>();

  constructor(readonly app: OpenAPIHono, private readonly defaults: RouteDefaults) {}

  /** Registers a route's documentation and mounts its validated handler. */
  define<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
    def: RouteDef<P, Q, B>,
    handler: (
      c: Context,
      input: Input<z.infer<P>, z.infer<Q>, z.infer<B>>,
    ) => Response | Promise<Response>,
  ): void {
    this.#document(def);
    const honoPath = def.path.replace(/\{(\w+)\}/g, ":$1");
    const methods = this.#methods.get(honoPath) ?? new Set();
    methods.add(def.method.toUpperCase());
    this.#methods.set(honoPath, methods);
    const int64Keys = def.body?.json ? exactInt64Keys(def.body.json) : [];
    const run: MiddlewareHandler = async (c) => {
      const params = parse(def.params, pathParams(c.req.url, c.req.param()), "path");
      const query = parse(
        def.query,
        queryObject(c.req.url, def.query, def.caseInsensitiveQuery),
        "query",
      );
      let body: z.infer<B> | undefined;
      let contentType: string | undefined;
      if (def.body) {
        contentType = mediaType(c);
        const accepted = [...(def.body.json ? ["application/json"] : []), ...(def.body.raw ?? [])];
        if (!accepted.includes(contentType)) {
          throw new HttpError(415, "Unsupported Media Type", {
            detail: `Content-Type "${contentType || "(none)"}" is not accepted here; send ${
              accepted.join(" or ")
            }`,
          });
        }
        if (contentType === "application/json" && def.body.json && !def.body.stream) {
          body = parseJson(await c.req.text(), def.body.json, "body", int64Keys);
        }
      }
      return handler(
        c,
        { params, query, body, contentType } as Input<z.infer<P>, z.infer<Q>, z.infer<B>>,
      );
    };
    const access = def.access ?? (def.method === "get" ? "read" : "write");
    const guards = [
      ...(access === "write" ? [requireApiKey(this.defaults.apiKey)] : []),
      requestTimeout(def.timeoutMs ?? this.defaults.timeoutMs),
      limitBody(def.bodyLimit ?? this.defaults.bodyLimit),
    ];
    const handle = def.problemMembers ? withMembers(run, def.problemMembers) : run;
    this.app.on([def.method.toUpperCase()], [honoPath], ...guards, handle);
  }

  /**
   * Answers the methods no route takes on a known path: 405 with `Allow`
   * (OPTIONS: 204 with `Allow`). Call once, after every route is defined.
   */
  finish(): void {
    for (const [path, methods] of this.#methods) {
      const allow = [...methods, ...(methods.has("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
      this.app.all(path, (c) => {
        if (c.req.method === "OPTIONS") return c.body(null, 204, { allow });
        throw new HttpError(405, "Method Not Allowed", {
          detail: `${c.req.method} is not allowed on ${c.req.path}; use ${allow}`,
          headers: { allow },
        });
      });
    }
  }

  #document(def: RouteDef): void {
    const content: Record<string, { schema: z.ZodType | { type: "string"; format: "binary" } }> =
      {};
    if (def.body?.json) content["application/json"] = { schema: def.body.json };
    for (const t of def.body?.raw ?? []) {
      content[t] = { schema: { type: "string", format: "binary" } };
    }
    this.app.openAPIRegistry.registerPath({
      method: def.method,
      path: def.path,
      tags: def.tags,
      summary: def.summary,
      description: def.description,
      request: {
        // deno-lint-ignore no-explicit-any
        params: def.params as any,
        // deno-lint-ignore no-explicit-any
        query: def.query as any,
        body: def.body ? { content, required: true, description: def.body.description } : undefined,
      },
      responses: { ...def.responses, "4XX": problemResponse, "5XX": serverProblemResponse },
    });
  }
}

/**
 * Adds a route's members to the 4xx problems its handling throws; a 5xx goes
 * on as thrown, so the app logs it with its cause.
 */
function withMembers(
  run: MiddlewareHandler,
  members: (problem: HttpError) => Record<string, unknown>,
): MiddlewareHandler {
  return async (c, next) => {
    try {
      return await run(c, next);
    } catch (e) {
      const http = toHttpError(e);
      if (http.status >= 500) throw e;
      throw new HttpError(http.status, http.message, {
        ...http.init,
        extensions: { ...members(http), ...http.init.extensions },
      });
    }
  };
}

/**
 * The path parameters, checked: Hono decodes them, and where decoding fails
 * it leaves the raw text. So the raw path (not the decoded values, which may
 * hold `%XX` legitimately: `%25FF` is the topic text `%FF`) says whether the
 * client sent bytes that are not percent-encoded UTF-8 (`%FF%FE`); the
 * parameter named is the one Hono left with an escape in it.
 */
function pathParams(url: string, params: Record<string, string>): Record<string, string> {
  for (const segment of new URL(url).pathname.split("/")) {
    try {
      decodeURIComponent(segment);
    } catch {
      const name = Object.entries(params).find(([, v]) => /%[0-9A-Fa-f]{2}/.test(v))?.[0];
      throw fieldProblems([{
        field: name ? `path.${name}` : "path",
        message: "is not valid percent-encoded UTF-8",
      }]);
    }
  }
  return params;
}

/** The request's media type, lower-case without parameters ("" when absent). */
export function mediaType(c: Context): string {
  return (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/**
 * A base64 string field read as bytes (lib/bytes fromBase64: padding
 * optional, whitespace refused); `invalid` is the problem a bad one gets.
 * `prepare` maps a variant alphabet first (Twirp's URL-safe form).
 */
export function base64Bytes(
  invalid: string,
  opts: { maxChars?: number; prepare?: (s: string) => string } = {},
) {
  const text = opts.maxChars === undefined ? z.string() : z.string().max(opts.maxChars);
  return text.transform((s, ctx) => {
    try {
      return fromBase64(opts.prepare ? opts.prepare(s) : s);
    } catch {
      ctx.addIssue({ code: "custom", message: invalid });
      return z.NEVER;
    }
  });
}

// Schemas marked by the helpers below; define.ts finds them by walking a route's schemas.
const INT64 = new WeakSet<z.ZodType>();
const LISTS = new WeakSet<z.ZodType>();

/** A request's body as a stream (an empty one when it has none), for routes that stream it. */
export function requestBody(c: Context): ReadableStream<Uint8Array> {
  return c.req.raw.body ?? ReadableStream.from<Uint8Array>([]);
}

/** Marks a schema whose JSON integers must be read exactly (handed over as their digits). */
export function exactInt64<T extends z.ZodType>(schema: T): T {
  INT64.add(schema);
  return schema;
}

/** Marks a query parameter schema as a comma-separated list: repeated parameters are joined. */
export function listParam<T extends z.ZodType>(schema: T): T {
  LISTS.add(schema);
  return schema;
}

/** The object keys, anywhere in a schema, whose value schema is marked with exactInt64(). */
export function exactInt64Keys(schema: z.ZodType): string[] {
  const keys = new Set<string>();
  const seen = new Set<z.ZodType>();
  const walk = (s: z.ZodType | undefined): void => {
    if (!s || seen.has(s)) return;
    seen.add(s);
    const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === "object") {
      for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        if (marked(v, INT64)) keys.add(k);
        walk(v);
      }
    }
    for (const child of ["element", "innerType", "in", "out", "schema"]) {
      walk(def[child] as z.ZodType | undefined);
    }
    for (const o of (def.options as z.ZodType[] | undefined) ?? []) walk(o);
  };
  walk(schema);
  return [...keys].sort();
}

/** Whether a schema, or what it wraps (optional, default, pipe…), carries the mark. */
function marked(s: z.ZodType, set: WeakSet<z.ZodType>): boolean {
  for (let cur: z.ZodType | undefined = s, i = 0; cur && i < 10; i++) {
    if (set.has(cur)) return true;
    const def = (cur as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    cur = (def.innerType ?? def.in) as z.ZodType | undefined;
  }
  return false;
}

/**
 * The query as an object of strings: a parameter given more than once is
 * joined with commas where the schema marks a list, and a 400 elsewhere
 * (rather than one value silently winning). With `anyCase`, a name is the
 * schema's name of the same letters, whatever their case.
 */
function queryObject(
  url: string,
  schema: z.ZodType | undefined,
  anyCase = false,
): Record<string, string> {
  const out: Record<string, string> = {};
  const shape = schema
    ? ((schema as unknown as { _zod: { def: { shape?: Record<string, z.ZodType> } } })._zod.def
      .shape ?? {})
    : {};
  const names = new Map(anyCase ? Object.keys(shape).map((k) => [k.toLowerCase(), k]) : []);
  const repeated: FieldProblem[] = [];
  for (const [name, v] of searchParams(url)) {
    const k = names.get(name.toLowerCase()) ?? name;
    if (!Object.hasOwn(out, k)) out[k] = v;
    else if (shape[k] && marked(shape[k], LISTS)) out[k] += "," + v;
    else repeated.push({ field: `query.${k}`, message: "is given more than once" });
  }
  if (repeated.length) throw fieldProblems(repeated);
  return out;
}

/**
 * The query's name/value pairs, as URLSearchParams reads them but refusing
 * escapes that are not UTF-8 (URLSearchParams would turn them into U+FFFD
 * and answer for a topic nobody sent).
 */
function searchParams(url: string): [string, string][] {
  const q = url.indexOf("?");
  if (q === -1) return [];
  const out: [string, string][] = [];
  for (const part of url.slice(q + 1).split("#")[0].split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const [rawK, rawV] = eq === -1 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
    const decode = (raw: string) => {
      try {
        return decodeURIComponent(raw.replaceAll("+", " "));
      } catch {
        throw fieldProblems([{
          field: `query.${rawK.slice(0, 64)}`,
          message: "is not valid percent-encoded UTF-8",
        }]);
      }
    };
    out.push([decode(rawK), decode(rawV)]);
  }
  return out;
}

/** Parses JSON text (int64 keys exact) and validates it; a 400 names what is wrong. */
export function parseJson<T extends z.ZodType>(
  text: string,
  schema: T,
  where: string,
  int64Keys: readonly string[] = exactInt64Keys(schema),
): z.infer<T> {
  let json: unknown;
  try {
    json = parseJsonExact(text, int64Keys);
  } catch (e) {
    throw fieldProblems([], `${where} is not valid JSON: ${(e as Error).message}`);
  }
  return parse(schema, json, where);
}

/** Validates one part of the input; unknown schemas pass the value through. */
export function parse<T extends z.ZodType>(
  schema: T | undefined,
  value: unknown,
  where: string,
): z.infer<T> {
  if (!schema) return value as z.infer<T>;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw validationError(r.error.issues, where);
}

/** Turns zod issues into a 400 that lists each offending field (at most MAX_FIELD_PROBLEMS). */
export function validationError(issues: readonly z.core.$ZodIssue[], where: string): HttpError {
  return fieldProblems(issues.map((i) => ({
    field: [where, ...i.path.map(String)].join("."),
    message: i.message,
  })));
}

/** A 400 listing field problems, at most MAX_FIELD_PROBLEMS of them plus how many there were. */
export function fieldProblems(all: FieldProblem[], detail?: string): HttpError {
  const errors = all.slice(0, MAX_FIELD_PROBLEMS);
  const more = all.length - errors.length;
  const text = detail ??
    errors.map((e) => `${e.field}: ${e.message}`).join("; ") +
      (more > 0 ? `; and ${more} more problems` : "");
  return new HttpError(400, "Bad Request", {
    detail: text,
    errors,
    ...(more > 0 ? { extensions: { errorCount: all.length } } : {}),
  });
}

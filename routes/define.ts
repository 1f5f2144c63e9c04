/**
 * Declares a route once: its zod schemas go into /openapi.json and the same
 * schemas validate every request. Validation failures become problem+json
 * 400s that name each field; a body of the wrong media type is a 415.
 * JSON bodies are parsed with exact int64 timestamps (parseJsonExact).
 */
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { badRequest, type FieldProblem, HttpError } from "../error.ts";
import { parseJsonExact } from "../protocols/waku/rest_json.ts";

type Method = "get" | "post" | "put" | "delete" | "patch" | "head";

/** A route: OpenAPI metadata plus the schemas its input must meet. */
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
  /** JSON body schema; `raw` bodies (protobuf, NDJSON) are read by the handler. */
  body?: { schema?: B; raw?: string[]; description?: string };
  responses: RouteConfig["responses"];
  middleware?: MiddlewareHandler[];
}

/** What a handler receives after validation. */
export interface Input<P, Q, B> {
  params: P;
  query: Q;
  /** The validated JSON body, or undefined when the request sent a raw media type. */
  body: B | undefined;
  /** The media type of the body, when there is one. */
  contentType: string | undefined;
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

/** Registers a route's documentation and mounts its validated handler. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  app: OpenAPIHono,
  def: RouteDef<P, Q, B>,
  handler: (
    c: Context,
    input: Input<z.infer<P>, z.infer<Q>, z.infer<B>>,
  ) => Response | Promise<Response>,
): void {
  const content: Record<string, { schema: z.ZodType | { type: "string"; format: "binary" } }> = {};
  if (def.body?.schema) content["application/json"] = { schema: def.body.schema };
  for (const t of def.body?.raw ?? []) {
    content[t] = { schema: { type: "string", format: "binary" } };
  }
  app.openAPIRegistry.registerPath({
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
  const honoPath = def.path.replace(/\{(\w+)\}/g, ":$1");
  const run: MiddlewareHandler = async (c) => {
    const params = parse(def.params, c.req.param(), "path");
    const query = parse(def.query, Object.fromEntries(new URL(c.req.url).searchParams), "query");
    let body: z.infer<B> | undefined;
    let contentType: string | undefined;
    if (def.body) {
      contentType = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
      const accepted = [...(def.body.schema ? ["application/json"] : []), ...(def.body.raw ?? [])];
      if (!accepted.includes(contentType)) {
        throw new HttpError(415, "Unsupported Media Type", {
          detail: `Content-Type "${contentType || "(none)"}" is not accepted here; send ${
            accepted.join(" or ")
          }`,
        });
      }
      if (contentType === "application/json" && def.body.schema) {
        const text = await c.req.text();
        let json: unknown;
        try {
          json = parseJsonExact(text);
        } catch (e) {
          throw badRequest(`Request body is not valid JSON: ${(e as Error).message}`);
        }
        body = parse(def.body.schema, json, "body");
      }
    }
    return handler(
      c,
      { params, query, body, contentType } as Input<z.infer<P>, z.infer<Q>, z.infer<B>>,
    );
  };
  app.on([def.method.toUpperCase()], [honoPath], ...(def.middleware ?? []), run);
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

/** Turns zod issues into a 400 that lists each offending field. */
export function validationError(issues: readonly z.core.$ZodIssue[], where: string): HttpError {
  const errors: FieldProblem[] = issues.map((i) => ({
    field: [where, ...i.path.map(String)].join("."),
    message: i.message,
  }));
  return badRequest(errors.map((e) => `${e.field}: ${e.message}`).join("; "), errors);
}

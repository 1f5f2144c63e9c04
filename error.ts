/**
 * The gateway's one error type. Anything thrown as an HttpError becomes an
 * RFC 9457 `application/problem+json` response in the app's error handler.
 *
 * @example
 * ```ts
 * throw new HttpError(400, "Unknown cursor", { detail: 'No message has hash "0x12…"' });
 * ```
 */
import {
  BusyError,
  ConflictError,
  ForbiddenError,
  IncompleteError,
  InvalidInputError,
  NotFoundError,
  StorageFullError,
  TooLargeError,
  UnauthorizedError,
  UnavailableError,
} from "./lib/errors.ts";
import { asStorageError } from "./storage/kv.ts";

/** A field that failed validation, named by its path in the input. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** Options that add detail to a problem. */
export interface ProblemInit {
  detail?: string;
  type?: string;
  errors?: FieldProblem[];
  /** More members of the problem object (RFC 9457 extensions), e.g. a count. */
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  507: "Insufficient Storage",
};

/** An HTTP error that renders as problem+json. */
export class HttpError extends Error {
  readonly status: number;
  readonly init: ProblemInit;
  constructor(status: number, title?: string, init: ProblemInit = {}) {
    super(title ?? TITLES[status] ?? "Error");
    this.name = "HttpError";
    this.status = status;
    this.init = init;
  }

  /** The RFC 9457 body. */
  toProblem(instance?: string): Record<string, unknown> {
    const body: Record<string, unknown> = {
      type: this.init.type ?? "about:blank",
      title: this.message,
      status: this.status,
    };
    if (this.init.detail) body.detail = this.init.detail;
    if (instance) body.instance = instance;
    if (this.init.errors?.length) body.errors = this.init.errors;
    return { ...this.init.extensions, ...body };
  }

  /** The response for this error. */
  getResponse(instance?: string): Response {
    return new Response(JSON.stringify(this.toProblem(instance)), {
      status: this.status,
      headers: { "content-type": "application/problem+json", ...this.init.headers },
    });
  }
}

/**
 * The HttpError a thrown value answers with: an HttpError as it is, a
 * domain error (or a store failure KV threw) by its meaning, anything else
 * as a 500. The caller logs what is 5xx, with its cause, under `ref` (a
 * request id, say), which the detail of the 5xx names.
 */
export function toHttpError(thrown: unknown, ref = "this request"): HttpError {
  if (thrown instanceof HttpError) return thrown;
  if (thrown instanceof IncompleteError) {
    const http = toHttpError(thrown.cause, ref);
    return new HttpError(http.status, http.message, {
      ...http.init,
      detail: `${thrown.message}: ${http.init.detail}`,
      extensions: { ...http.init.extensions, ...thrown.done },
    });
  }
  const err = asStorageError(thrown);
  if (err instanceof InvalidInputError) {
    return new HttpError(400, err.title ?? "Bad Request", {
      type: err.code ? `tag:syncgate,2026:${err.code}` : undefined,
      detail: err.message,
      errors: err.field ? [{ field: err.field, message: err.problem }] : undefined,
    });
  }
  if (err instanceof NotFoundError) return new HttpError(404, "Not Found", { detail: err.message });
  if (err instanceof UnauthorizedError) {
    return new HttpError(401, "Unauthorized", {
      detail: err.message,
      headers: { "www-authenticate": 'Bearer realm="syncgate"' },
    });
  }
  if (err instanceof ForbiddenError) {
    return new HttpError(403, "Forbidden", { detail: err.message });
  }
  if (err instanceof ConflictError) return new HttpError(409, "Conflict", { detail: err.message });
  if (err instanceof TooLargeError) {
    return new HttpError(413, "Content Too Large", { detail: err.message });
  }
  if (err instanceof BusyError) {
    return new HttpError(503, "Busy", {
      type: "tag:syncgate,2026:busy",
      detail: `${err.message}; retry in ${err.retryAfterSeconds} s`,
      headers: { "retry-after": String(err.retryAfterSeconds) },
    });
  }
  if (err instanceof StorageFullError) {
    return new HttpError(507, "Storage full", {
      type: "tag:syncgate,2026:storage-full",
      detail: "The gateway's storage is full, so this write was not committed. " +
        `Reads still work; retry once space is freed. The log has the cause under ${ref}.`,
    });
  }
  if (err instanceof UnavailableError) {
    return new HttpError(503, "Unavailable", {
      type: "tag:syncgate,2026:unavailable",
      detail: `${err.message}. Nothing of this request was acknowledged; retry shortly. ` +
        `The log has the cause under ${ref}.`,
      headers: err.retryAfterSeconds ? { "retry-after": String(err.retryAfterSeconds) } : undefined,
    });
  }
  return new HttpError(500, "Internal Server Error", {
    detail: `The gateway failed to handle this request; its log has the details under ${ref}`,
  });
}

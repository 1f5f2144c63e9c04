/**
 * Twirp's error body (the transport of the remote-log spec's proof of
 * concept): `{"code", "msg", "meta"?}` as JSON, sent with the HTTP status
 * Twirp's spec gives each code, so a Twirp client reads the same error from
 * either. Also which code an HTTP problem's status becomes.
 *
 * @example
 * ```ts
 * const e = twirpError("not_found", "no content has CID bafkrei…");
 * new Response(JSON.stringify(e.body), { status: e.status });
 * ```
 */

/** Twirp's error codes and their HTTP statuses (twirp.github.io/docs/spec_v7). */
export const TWIRP_STATUS = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
} as const;

export type TwirpCode = keyof typeof TWIRP_STATUS;

/** A Twirp error: its body and the status it is sent with. */
export interface TwirpError {
  status: number;
  body: { code: TwirpCode; msg: string; meta?: Record<string, string> };
}

/** The Twirp error of a code (meta values are strings, as Twirp's are). */
export function twirpError(
  code: TwirpCode,
  msg: string,
  meta?: Record<string, string>,
): TwirpError {
  return { status: TWIRP_STATUS[code], body: meta ? { code, msg, meta } : { code, msg } };
}

/** Whether a string is a Twirp error code. */
export function isTwirpCode(code: unknown): code is TwirpCode {
  return typeof code === "string" && Object.hasOwn(TWIRP_STATUS, code);
}

/**
 * The Twirp code of an HTTP error status. Twirp's own server answers a
 * wrong method, path or Content-Type with bad_route; a body over a limit is
 * the caller's argument; a conflict here is a race to retry (aborted); a
 * full store is an exhausted resource.
 */
export function twirpCodeOf(status: number): TwirpCode {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return "invalid_argument";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "not_found";
    case 405:
    case 415:
      return "bad_route";
    case 408:
    case 504:
      return "deadline_exceeded";
    case 409:
      return "aborted";
    case 412:
      return "failed_precondition";
    case 429:
    case 507:
      return "resource_exhausted";
    case 501:
      return "unimplemented";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "unknown";
  }
}

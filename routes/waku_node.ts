/**
 * nwaku's node-level REST: `/info` and `/version` (and their deprecated
 * `/debug/v1/…` aliases), the protocols /health reports, and the admin
 * routes, which only a libp2p node can serve: they answer 501 with a
 * problem saying why, rather than a 404 that reads as a typo.
 */
import { z } from "@hono/zod-openapi";
import { HttpError } from "../error.ts";
import type { Routes } from "./define.ts";
import { type ProtocolHealth, reportProtocolHealth, VERSION } from "./system.ts";

/** What `/version` answers: nwaku answers its `git describe`; this is the gateway's version. */
export const NODE_VERSION = `v${VERSION}-syncgate`;

const TAGS = ["waku node"];

/**
 * nwaku's protocols in its health report's order, and whether this gateway
 * serves each (READY) or not (NOT_MOUNTED): it serves the REST of relay,
 * lightpush, filter and store itself, as their service; it is no client of
 * another node's.
 */
const PROTOCOLS: [string, boolean][] = [
  ["Relay", true],
  ["Rln Relay", false],
  ["Lightpush", true],
  ["Legacy Lightpush", true],
  ["Filter", true],
  ["Store", true],
  ["Legacy Store", false],
  ["Peer Exchange", false],
  ["Rendezvous", false],
  ["Mix", false],
  ["Lightpush Client", false],
  ["Legacy Lightpush Client", false],
  ["Store Client", false],
  ["Legacy Store Client", false],
  ["Filter Client", false],
];

/** nwaku's admin routes (all of them, installed with --rest-admin). */
const ADMIN: ["get" | "post", string][] = [
  ["get", "/admin/v1/peers"],
  ["post", "/admin/v1/peers"],
  ["get", "/admin/v1/peer/{peerId}"],
  ["get", "/admin/v1/peers/service"],
  ["get", "/admin/v1/peers/connected"],
  ["get", "/admin/v1/peers/connected/on/{shardId}"],
  ["get", "/admin/v1/peers/relay"],
  ["get", "/admin/v1/peers/relay/on/{shardId}"],
  ["get", "/admin/v1/peers/mesh"],
  ["get", "/admin/v1/peers/mesh/on/{shardId}"],
  ["get", "/admin/v1/peers/stats"],
  ["get", "/admin/v1/filter/subscriptions"],
  ["post", "/admin/v1/log-level/{logLevel}"],
];

const NOT_A_NODE = "syncgate puts Waku behind HTTP without being a libp2p node: it has no " +
  "peers, mesh or libp2p filter subscribers to list, dials no peer and has no runtime log " +
  "levels, so nwaku's admin routes have nothing to act on here.";

/** Mounts /info, /version, their aliases and the admin routes, and reports the protocols. */
export function wakuNodeRoutes(routes: Routes): void {
  reportProtocolHealth(routes, (): ProtocolHealth[] =>
    PROTOCOLS.map(([protocol, served]) => ({
      protocol,
      health: served ? "READY" : "NOT_MOUNTED",
    })));

  for (const path of ["/info", "/debug/v1/info"]) {
    routes.define({
      method: "get",
      path,
      tags: TAGS,
      summary: "Node info (nwaku's; `/debug/v1/info` is its deprecated alias)",
      description: "`listenAddresses` is empty and `enrUri` absent: the gateway has no libp2p " +
        "address and no ENR.",
      responses: {
        200: {
          description: "Info",
          content: {
            "application/json": {
              schema: z.object({ listenAddresses: z.array(z.string()) }).openapi("NodeInfo"),
            },
          },
        },
      },
    }, (c) => c.json({ listenAddresses: [] }));
  }

  for (const path of ["/version", "/debug/v1/version"]) {
    routes.define({
      method: "get",
      path,
      tags: TAGS,
      summary: "Version, as text (nwaku's; `/debug/v1/version` is its deprecated alias)",
      responses: {
        200: {
          description: "The version",
          content: { "text/plain": { schema: z.string().openapi({ example: NODE_VERSION }) } },
        },
      },
    }, (c) => c.text(NODE_VERSION));
  }

  for (const [method, path] of ADMIN) {
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    routes.define({
      method,
      path,
      tags: TAGS,
      summary: "nwaku admin route: not implemented (no libp2p node here)",
      params: params.length
        ? z.object(Object.fromEntries(params.map((p) => [p, z.string()])))
        : undefined,
      responses: { 501: { description: "Not implemented, with a problem saying why" } },
    }, (c) =>
      // Answered, not thrown: a 501 here is no failure for the log.
      new HttpError(501, "Not Implemented", { detail: NOT_A_NODE }).getResponse(c.req.path));
  }
}

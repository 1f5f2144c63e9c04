/**
 * APX signals of RemoteFile connections over HTTP: ports decoded from the
 * definitions and data files either side published, a port set through
 * the file we write for it, and the gateway published as a node.
 */
import { z } from "@hono/zod-openapi";
import type { DefinitionLimits } from "../protocols/apx/definition.ts";
import { publishNode } from "../services/remotefile_node.ts";
import { fileJson } from "../services/remotefile_events.ts";
import type { RemoteFileService } from "../services/remotefile_service.ts";
import type { Routes } from "./define.ts";
import {
  FileJson,
  IdParams,
  NodeBody,
  PortBody,
  PortJson,
  PortParams,
  PortQuery,
} from "./remotefile_schemas.ts";

export interface RemoteFileApxRoutesDeps {
  service: RemoteFileService;
  definitionLimits: DefinitionLimits;
}

const TAGS = ["remotefile"];

export function remoteFileApxRoutes(routes: Routes, deps: RemoteFileApxRoutesDeps): void {
  const { service } = deps;

  routes.define({
    method: "get",
    path: "/remotefile/connections/{id}/apx/ports",
    tags: TAGS,
    summary: "The APX ports of the connection's nodes, with their values",
    description: "For every `Name.apx` either side published: its provide ports (from the " +
      "node's `Name.out`) and require ports (from the other side's `Name.in`), decoded (64-bit " +
      "integers beyond 2^53 as decimal strings). `writable`: the gateway writes that file, so a " +
      "PUT may set the port; `value` is null until the file has arrived.",
    params: IdParams,
    responses: {
      200: { description: "Ports", content: { "application/json": { schema: z.array(PortJson) } } },
    },
  }, async (c, { params }) => c.json((await service.view(params.id)).apx.ports()));

  routes.define({
    method: "put",
    path: "/remotefile/connections/{id}/apx/ports/{port}",
    tags: TAGS,
    summary: "Set an APX port: encoded, checked, and written as a delta to the peer",
    description: "The value must fit the port's type and limits (a 400 names the path, e.g. " +
      "`body.value.Speed[1]`). Only ports whose file the gateway writes: a peer node's require " +
      "ports (its `.in`, which the gateway as APX server publishes) and the gateway node's " +
      "provide ports (its `.out`); others are 409.",
    params: PortParams,
    query: PortQuery,
    body: { json: PortBody },
    responses: {
      200: {
        description: "Written",
        content: {
          "application/json": {
            schema: z.object({ file: z.string(), offset: z.number(), size: z.number() }),
          },
        },
      },
    },
  }, async (c, { params, query, body }) => {
    const link = await service.link(params.id);
    const w = await link.setPort(params.port, body!.value, query.node);
    return c.json({ file: w.file, offset: w.offset, size: w.data.length });
  });

  routes.define({
    method: "post",
    path: "/remotefile/connections/{id}/apx/node",
    tags: TAGS,
    summary: "Publish the gateway as an APX node: `Name.out` and `Name.apx`",
    description: "For a client connection to an APX server: the server opens both, and offers " +
      "`Name.in` for the require ports, which the gateway mirrors (see `…/apx/ports`). " +
      "`definition` is APX/1.2 text or a structure written as such; `values` sets provide " +
      "ports (the rest start at their init values). Set ports later with `PUT …/apx/ports/{port}`.",
    params: IdParams,
    body: { json: NodeBody },
    bodyLimit: (1 << 20) + 64 * 1024,
    responses: {
      201: {
        description: "Published",
        content: {
          "application/json": {
            schema: z.object({ node: z.string(), files: z.array(FileJson) }),
          },
        },
      },
    },
  }, async (c, { params, body }) => {
    const link = await service.link(params.id);
    const got = await publishNode(link, body!.definition, body!.values, deps.definitionLimits);
    return c.json({ node: got.definition.nodeName, files: got.files.map(fileJson) }, 201);
  });
}

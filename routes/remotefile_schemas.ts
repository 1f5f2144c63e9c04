/**
 * The RemoteFile routes' schemas: what they take (validated) and give
 * (documented in /openapi.json).
 */
import { z } from "@hono/zod-openapi";
import {
  DIGEST_SIZE,
  FILE_ADDRESS_MAX,
  FILE_SIZE_MAX,
  MAX_FILE_NAME_BYTES,
} from "../protocols/remotefile/commands.ts";
import { base64Bytes } from "./define.ts";

/** A connection id: what the gateway gave (0x-hex), or a name it was stored under. */
export const IdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/) });

/** A RemoteFile file name (visible ASCII; real names have dots: `Node.apx`). */
const FileName = z.string().min(1).max(MAX_FILE_NAME_BYTES).regex(
  /^[\x21-\x7e]+$/,
  "must be visible ASCII without spaces",
);

export const FileParams = IdParams.extend({ name: FileName });
export const PortParams = IdParams.extend({ port: z.string().min(1).max(255) });

export const ConnectBody = z.union([
  z.object({
    host: z.string().min(1).max(253).openapi({ example: "127.0.0.1" }),
    port: z.number().int().min(1).max(65535).openapi({ example: 5000 }),
  }).strict(),
  z.object({ path: z.string().min(1).max(1024).startsWith("/") }).strict(),
]);

const Base64 = base64Bytes("must be base64", { maxChars: 64 << 20 });

export const PublishBody = z.object({
  name: FileName,
  size: z.number().int().min(0).max(FILE_SIZE_MAX),
  address: z.number().int().min(0).max(FILE_ADDRESS_MAX).optional().openapi({
    description: "Start address; default: as APX allocates by the name's extension " +
      "(`.in`/`.out` from 0x0, `.apx` from 0x4000000, others from 0x20000000)",
  }),
  fileType: z.number().int().min(0).max(2).optional(),
  digestType: z.number().int().min(0).max(2).optional(),
  digest: z.string().regex(new RegExp(`^0x([0-9a-fA-F]{2}){1,${DIGEST_SIZE}}$`)).optional(),
  data: Base64.optional().openapi({
    description: "Initial content (base64), at most `size` bytes",
  }),
}).strict().superRefine((b, ctx) => {
  // A digest and its type come together: either alone would be stored as the other's default.
  if ((b.digestType ?? 0) !== 0 && b.digest === undefined) {
    ctx.addIssue({ code: "custom", path: ["digest"], message: "is required with a digestType" });
  }
  if (b.digest !== undefined && (b.digestType ?? 0) === 0) {
    ctx.addIssue({ code: "custom", path: ["digestType"], message: "must say what the digest is" });
  }
});

export const OffsetQuery = z.object({
  // Digits only: coerce would read "" (and " ") as 0.
  offset: z.string().regex(/^\d{1,10}$/, "must be a byte offset").transform(Number)
    .pipe(z.number().int().min(0).max(FILE_SIZE_MAX)).default(0),
});

export const PortQuery = z.object({
  node: z.string().min(1).max(255).optional().openapi({
    description: "The node, when several have a port of this name",
  }),
});

export const PortBody = z.object({ value: z.unknown() }).strict().refine(
  (b) => b.value !== undefined,
  { message: "value is required", path: ["value"] },
);

const PortInput = z.object({
  name: z.string(),
  signature: z.string(),
  init: z.unknown().optional(),
  parameter: z.boolean().optional(),
}).strict();

export const NodeBody = z.object({
  definition: z.union([
    z.string().min(1).max(1 << 20).openapi({
      description: 'APX/1.2 text, e.g. `APX/1.2\\nN"Gw"\\nP"Speed"S\\n`',
    }),
    z.object({
      nodeName: z.string(),
      types: z.array(
        z.object({
          name: z.string(),
          signature: z.string(),
          attributes: z.string().optional(),
        }).strict(),
      ).max(10_000).optional(),
      providePorts: z.array(PortInput).max(10_000).optional(),
      requirePorts: z.array(PortInput).max(10_000).optional(),
    }).strict(),
  ]),
  values: z.record(z.string(), z.unknown()).optional().openapi({
    description: "Provide port values to start with (the others start at their init values)",
  }),
}).strict();

const FileJson = z.object({
  name: z.string(),
  address: z.number(),
  size: z.number(),
  fileType: z.number(),
  digestType: z.number(),
  digest: z.string().optional(),
  open: z.boolean(),
});

export const SummaryJson = z.object({
  id: z.string(),
  kind: z.enum(["client", "accepted"]),
  peer: z.string(),
  state: z.string(),
  since: z.string().openapi({ description: "ISO time of the last state change" }),
  lastError: z.string().optional(),
  live: z.boolean().openapi({ description: "Served by this gateway process now" }),
  bytesRead: z.number().optional(),
  bytesWritten: z.number().optional(),
});

export const DetailJson = SummaryJson.extend({
  localFiles: z.array(FileJson),
  remoteFiles: z.array(FileJson),
  apxNodes: z.array(z.object({
    file: z.string(),
    side: z.enum(["local", "remote"]),
    node: z.string().optional(),
    error: z.string().optional(),
  })),
});

export const PortJson = z.object({
  node: z.string(),
  name: z.string(),
  direction: z.enum(["provide", "require"]),
  type: z.string().openapi({ description: "The signature as the definition writes it" }),
  value: z.unknown(),
  file: z.string(),
  fileSide: z.enum(["local", "remote"]),
  writable: z.boolean(),
});

export { FileJson };

/**
 * The gateway as an APX node on a connection (normally a client connection
 * to an APX server): it publishes `Name.out` (its provide ports' values)
 * and `Name.apx` (the definition text), in the order c-apx's node sends
 * them. The server then opens both, and offers `Name.in` for the require
 * ports, which the gateway opens and mirrors (remotefile_apx.ts reads them).
 */
import { utf8Encode } from "../lib/bytes.ts";
import { InvalidInputError } from "../lib/errors.ts";
import {
  type ApxDefinition,
  type DefinitionLimits,
  parseDefinition,
} from "../protocols/apx/definition.ts";
import { findPort, initialFileData } from "../protocols/apx/port_data.ts";
import { type DefinitionInput, writeDefinition } from "../protocols/apx/writer.ts";
import { encodePort } from "./remotefile_apx.ts";
import type { RemoteFileLink } from "./remotefile_link.ts";
import type { StoredFile } from "./remotefile_files.ts";

/** A definition as text, or as a structure to write as text. */
export type NodeDefinition = string | DefinitionInput;

/**
 * Publishes an APX node: its definition and its provide ports' data, the
 * ports at their init values except those `values` sets. Throws
 * InvalidInputError naming the field (`body.definition`, `body.values.<port>…`),
 * ConflictError when the files exist.
 */
export async function publishNode(
  link: RemoteFileLink,
  definition: NodeDefinition,
  values: Record<string, unknown> = {},
  limits: DefinitionLimits = {},
): Promise<{ definition: ApxDefinition; files: StoredFile[] }> {
  let text: string;
  let def: ApxDefinition;
  try {
    text = typeof definition === "string" ? definition : writeDefinition(definition, limits);
    def = parseDefinition(text, limits);
  } catch (e) {
    if (!(e instanceof SyntaxError || e instanceof RangeError || e instanceof TypeError)) throw e;
    throw new InvalidInputError("body.definition", e.message, { cause: e });
  }
  const out = initialFileData(def, "provide");
  for (const [name, value] of Object.entries(values)) {
    const port = findPort(def, "provide", name);
    if (!port) {
      const why = findPort(def, "require", name)
        ? "is a require port: the server writes it"
        : "is not a provide port of the definition";
      throw new InvalidInputError(`body.values.${name}`, why);
    }
    const w = encodePort(port, value, `values.${name}`);
    out.set(w.data, w.offset);
  }
  const files: StoredFile[] = [];
  // py-apx offers no .out when there are no provide ports.
  if (def.outFileSize > 0) {
    files.push(await link.publish({ name: def.fileNames.out, size: out.length, data: out }));
  }
  const bytes = utf8Encode(text);
  files.push(
    await link.publish({ name: def.fileNames.definition, size: bytes.length, data: bytes }),
  );
  return { definition: def, files };
}

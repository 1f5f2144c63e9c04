import assert from "node:assert/strict";
import {
  type Command,
  decodeCommand,
  DIGEST_TYPE_NONE,
  DIGEST_TYPE_SHA1,
  DIGEST_TYPE_SHA256,
  encodeCommand,
  encodeFileInfos,
  FILE_INFO_BASE_SIZE,
  FILE_TYPE_DYNAMIC,
  FILE_TYPE_FIXED,
  FILE_TYPE_STREAM,
  MAX_FILE_NAME_BYTES,
  packFileInfos,
  PING_NO_FILE,
  RMF_CMD_ACK,
  RMF_CMD_FILE_CLOSE,
  RMF_CMD_FILE_INFO,
  RMF_CMD_FILE_OPEN,
  RMF_CMD_HEARTBEAT_RQST,
  RMF_CMD_HEARTBEAT_RSP,
  RMF_CMD_NACK,
  RMF_CMD_PING_RQST,
  RMF_CMD_PING_RSP,
  RMF_CMD_REVOKE_FILE,
} from "../../../protocols/remotefile/commands.ts";
import { encodeWriteMessage } from "../../../protocols/remotefile/write_message.ts";
import { encodeMessage } from "../../../protocols/remotefile/framing.ts";

const hex = (b: Uint8Array) => b.toHex();
const zeros32 = "00".repeat(32);

Deno.test("CmdType table", () => {
  assert.deepEqual(
    [
      RMF_CMD_ACK,
      RMF_CMD_NACK,
      RMF_CMD_FILE_INFO,
      RMF_CMD_REVOKE_FILE,
      RMF_CMD_HEARTBEAT_RQST,
      RMF_CMD_HEARTBEAT_RSP,
      RMF_CMD_PING_RQST,
      RMF_CMD_PING_RSP,
      RMF_CMD_FILE_OPEN,
      RMF_CMD_FILE_CLOSE,
    ],
    [0, 1, 3, 4, 5, 6, 7, 8, 10, 11],
  );
  assert.deepEqual([FILE_TYPE_FIXED, FILE_TYPE_DYNAMIC, FILE_TYPE_STREAM], [0, 1, 2]);
  assert.deepEqual([DIGEST_TYPE_NONE, DIGEST_TYPE_SHA1, DIGEST_TYPE_SHA256], [0, 1, 2]);
});

Deno.test("fixed-size commands: byte-exact, little-endian, and back", () => {
  const vectors: [Command, string][] = [
    [{ type: "ack" }, "00000000"],
    [{ type: "nack" }, "01000000"],
    [{ type: "revokeFile", address: 0x10000 }, "04000000" + "00000100"],
    [{ type: "heartbeatRequest" }, "05000000"],
    [{ type: "heartbeatResponse" }, "06000000"],
    [
      { type: "pingRequest", address: PING_NO_FILE, seconds: 0x01020304, milliseconds: 999 },
      "07000000" + "ffffffff" + "04030201" + "e7030000",
    ],
    [
      { type: "pingResponse", address: 0x4000000, seconds: 0xffffffff, milliseconds: 0 },
      "08000000" + "00000004" + "ffffffff" + "00000000",
    ],
    [{ type: "fileOpen", address: 0x4000000 }, "0a000000" + "00000004"],
    [{ type: "fileClose", address: 0x3ffffbff }, "0b000000" + "fffbff3f"],
  ];
  for (const [cmd, bytes] of vectors) {
    assert.equal(hex(encodeCommand(cmd)), bytes, cmd.type);
    assert.deepEqual(decodeCommand(Uint8Array.fromHex(bytes)), cmd);
  }
});

Deno.test("the reference server's ACK to a greeting, framed", () => {
  const body = encodeWriteMessage({ address: 0x3ffffc00, data: encodeCommand({ type: "ack" }) });
  assert.equal(hex(encodeMessage(body, 32)), "08bffffc0000000000");
});

Deno.test("spec example: FileInfo for File1.txt at 0x10000, 1000 bytes", () => {
  const bytes = encodeCommand({
    type: "fileInfo",
    files: [{ address: 0x10000, size: 1000, name: "File1.txt" }],
  });
  const expected = "03000000" + "00000100" + "e8030000" + "0000" + "0000" + zeros32 +
    new TextEncoder().encode("File1.txt\0").toHex();
  assert.equal(hex(bytes), expected);
  assert.equal(bytes.length, FILE_INFO_BASE_SIZE + 10);
  assert.deepEqual(decodeCommand(bytes), {
    type: "fileInfo",
    files: [{
      address: 0x10000,
      size: 1000,
      fileType: 0,
      digestType: 0,
      digest: new Uint8Array(32),
      name: "File1.txt",
    }],
  });
});

Deno.test("FileInfo: several in one command (CmdType once), dotted names, digests", () => {
  const digest = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  const files = [
    {
      address: 0x0,
      size: 8,
      name: "Node.out",
      fileType: 0,
      digestType: 0,
      digest: new Uint8Array(32),
    },
    { address: 0x4000000, size: 5800, name: "Node.apx", fileType: 0, digestType: 2, digest },
    {
      address: 0x400,
      size: 3,
      name: "Node.in",
      fileType: 1,
      digestType: 0,
      digest: new Uint8Array(32),
    },
  ];
  const bytes = encodeFileInfos(files);
  const entry = (addr: string, size: string, ft: string, dt: string, dg: string, name: string) =>
    addr + size + ft + dt + dg + new TextEncoder().encode(name + "\0").toHex();
  assert.equal(
    hex(bytes),
    "03000000" +
      entry("00000000", "08000000", "0000", "0000", zeros32, "Node.out") +
      entry("00000004", "a8160000", "0000", "0200", digest.toHex(), "Node.apx") +
      entry("00040000", "03000000", "0100", "0000", zeros32, "Node.in"),
  );
  assert.equal(bytes.length, 4 + 3 * 44 + 9 + 9 + 8);
  assert.deepEqual(decodeCommand(bytes), { type: "fileInfo", files });
});

Deno.test("FileInfo: file types and digest types outside the spec's 0–2 are kept (newer c-apx)", () => {
  const bytes = encodeFileInfos([{ address: 0, size: 1, name: "a", fileType: 5, digestType: 9 }]);
  const cmd = decodeCommand(bytes) as { files: { fileType: number; digestType: number }[] };
  assert.equal(cmd.files[0].fileType, 5);
  assert.equal(cmd.files[0].digestType, 9);
});

Deno.test("FileInfo: sizes and ranges checked", () => {
  const name975 = "n".repeat(MAX_FILE_NAME_BYTES);
  assert.equal(MAX_FILE_NAME_BYTES, 975);
  const max = encodeFileInfos([{ address: 0, size: 1, name: name975 }]);
  assert.equal(max.length, 1024);
  assert.equal((decodeCommand(max) as { files: { name: string }[] }).files[0].name, name975);
  assert.throws(() => encodeFileInfos([{ address: 0, size: 1, name: name975 + "x" }]), RangeError);
  assert.throws(() => encodeFileInfos([]), RangeError);
  assert.throws(() => encodeFileInfos([{ address: 0, size: 1, name: "" }]), RangeError);
  assert.throws(() => encodeFileInfos([{ address: 0, size: 1, name: "a b" }]), RangeError);
  assert.throws(() => encodeFileInfos([{ address: 0, size: 1, name: "é" }]), RangeError);
  assert.throws(() => encodeFileInfos([{ address: 0x3ffffc00, size: 0, name: "a" }]), RangeError);
  assert.throws(
    () => encodeFileInfos([{ address: 0x3ffffbff, size: 2, name: "a" }]),
    /control area/,
  );
  assert.throws(() => encodeFileInfos([{ address: 0, size: 0x3ffffc01, name: "a" }]), RangeError);
  // 0..(2^30)-1025 and a file that ends at the control area are fine.
  encodeFileInfos([{ address: 0x3ffffbff, size: 1, name: "a" }]);
  encodeFileInfos([{ address: 0, size: 0x3ffffc00, name: "a" }]);
  // Twenty files do not fit one command.
  const many = Array.from(
    { length: 20 },
    (_, i) => ({ address: i * 0x400, size: 4, name: `File${i}.out` }),
  );
  assert.throws(() => encodeFileInfos(many), /exceeds the 1024-byte limit/);
  const packed = packFileInfos(many, true);
  assert.ok(packed.length === 2 && packed.every((p) => p.length <= 1024));
  assert.deepEqual(
    packed.flatMap((p) =>
      (decodeCommand(p) as { files: { name: string }[] }).files.map((f) => f.name)
    ),
    many.map((f) => f.name),
  );
  assert.equal(packFileInfos(many).length, 20);
});

Deno.test("decodeCommand: refusals", () => {
  const bad: [string, RegExp, ErrorConstructor][] = [
    ["", /shorter than its CmdType/, SyntaxError],
    ["000000", /shorter than its CmdType/, SyntaxError],
    ["0000000000", /ACK is 5 bytes; it must be 4/, SyntaxError],
    ["02000000", /Unknown command type 2/, SyntaxError],
    ["09000000", /Unknown command type 9/, SyntaxError],
    ["ffffffff", /Unknown command type 4294967295/, SyntaxError],
    ["0a000000", /FILE_OPEN is 4 bytes/, SyntaxError],
    ["0b00000000000000ff", /FILE_CLOSE is 9 bytes/, SyntaxError],
    ["07000000" + "00".repeat(11), /PING_RQST is 15 bytes/, SyntaxError],
    ["03000000" + "00".repeat(44), /truncated/, SyntaxError],
    ["03000000" + "00".repeat(44) + "41", /no NUL/, SyntaxError],
    ["03000000" + "00".repeat(44) + "00", /name "" is empty/, SyntaxError],
    ["03000000" + "00fcff3f" + "00".repeat(40) + "4100", /address 1073740800/, RangeError],
    ["03000000" + "00000000" + "01fcff3f" + "00".repeat(36) + "4100", /size/, RangeError],
    // A second entry cut short.
    ["03000000" + "00".repeat(44) + "4100" + "00".repeat(10), /entry 2 is truncated/, SyntaxError],
  ];
  for (const [h, message, type] of bad) {
    assert.throws(() => decodeCommand(Uint8Array.fromHex(h)), (e: Error) => {
      assert.ok(e instanceof type, `${h}: ${e}`);
      assert.match(e.message, message, h);
      return true;
    });
  }
  assert.throws(() => decodeCommand(new Uint8Array(1025)), {
    name: "RangeError",
    message: /1025 bytes/,
  });
  assert.throws(() => encodeCommand({ type: "fileOpen", address: -1 }), RangeError);
  assert.throws(
    () => encodeCommand({ type: "pingRequest", address: 0, seconds: 2 ** 32, milliseconds: 0 }),
    RangeError,
  );
});

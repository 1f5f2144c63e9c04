/**
 * Test-only TLS identities, made fresh by openssl for each run: a
 * self-signed certificate and key (as BEP devices have), and the SHA-256
 * fingerprint openssl itself reports, to check ours against.
 */

/** A certificate, its key (PEM) and openssl's SHA-256 of it as 0x-hex. */
export interface Identity {
  cert: string;
  key: string;
  sha256: string;
}

async function openssl(args: string[]): Promise<string> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Makes a self-signed P-256 identity in `dir`. */
export async function makeIdentity(dir: string, name: string): Promise<Identity> {
  const [certPath, keyPath] = [`${dir}/${name}.crt`, `${dir}/${name}.key`];
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
  const fp = await openssl(["x509", "-in", certPath, "-noout", "-fingerprint", "-sha256"]);
  const hex = fp.trim().split("=")[1].replaceAll(":", "").toLowerCase();
  return {
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
    sha256: `0x${hex}`,
  };
}

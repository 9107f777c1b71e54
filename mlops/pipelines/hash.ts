import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** JSON with sorted object keys, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

async function hashFileInto(hash: ReturnType<typeof createHash>, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** Content hash and size of a file or a folder tree (relative paths + contents, sorted). */
export async function hashPath(path: string): Promise<{ hash: string; bytes: number }> {
  const st = statSync(path);
  const hash = createHash("sha256");
  if (st.isFile()) {
    await hashFileInto(hash, path);
    return { hash: hash.digest("hex"), bytes: st.size };
  }
  let bytes = 0;
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  walk(path);
  files.sort();
  for (const f of files) {
    hash.update(`${relative(path, f)}\0`);
    bytes += statSync(f).size;
    await hashFileInto(hash, f);
    hash.update("\0");
  }
  return { hash: hash.digest("hex"), bytes };
}

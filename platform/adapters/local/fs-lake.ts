import { constants, existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ValidationError } from "../../errors.ts";
import type { Lake } from "../../ports/lake.ts";

/** Local lake: files under one root folder (default $TELCO_HOME/lake). */
export class FsLake implements Lake {
  readonly kind = "local" as const;
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  uri(key: string): string {
    return join(this.root, safeKey(key));
  }

  async exists(key: string): Promise<boolean> {
    return existsSync(this.uri(key));
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.uri(prefix);
    if (!existsSync(base)) return [];
    // A key is listed as itself (readdir of a file would throw ENOTDIR).
    if ((await stat(base)).isFile()) return [safeKey(prefix).split(sep).join("/")];
    const entries = await readdir(base, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(this.root, join(e.parentPath, e.name)).split(sep).join("/"))
      .sort();
  }

  async read(key: string): Promise<Buffer> {
    return readFile(this.uri(key));
  }

  async write(key: string, data: Buffer | string): Promise<void> {
    const target = this.uri(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(tmp, data);
    await rename(tmp, target);
  }

  async putFile(localPath: string, key: string): Promise<void> {
    const target = this.uri(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    // Reflink (copy-on-write clone) where the filesystem supports it, a plain copy elsewhere.
    await copyFile(localPath, tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, target);
  }

  async moveIn(localPath: string, key: string): Promise<void> {
    const target = this.uri(key);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(localPath, target);
    } catch (err) {
      // Different filesystem (EXDEV): copy atomically, then drop the source.
      if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
      await this.putFile(localPath, key);
      await rm(localPath, { force: true });
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.uri(prefix), { recursive: true, force: true });
  }
}

function safeKey(key: string): string {
  const parts = key.split("/").filter((p) => p.length > 0);
  if (parts.some((p) => p === ".." || p === "."))
    throw new ValidationError("key", `lake key "${key}" may not contain . or ..`);
  return parts.join(sep);
}

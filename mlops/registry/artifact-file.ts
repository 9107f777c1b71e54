import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { localArtifactFiles, type ModelRegistry, type ModelVersion } from "../../platform/ports/registry.ts";

/**
 * A local file holding a version's artifact, for code that must hand a file to another program
 * (the Cloud Storage upload of `models mirror`). Local-only by nature: the workspace registry's own
 * file when the registry keeps files (its path, unchanged from before the port had attachments);
 * otherwise (Cloud Storage) the sha256-verified bytes copied to `<home>/tmp/artifacts/NAME/vN/FILE`.
 */
export async function artifactFile(
  registry: ModelRegistry,
  version: ModelVersion,
  home: string,
): Promise<string> {
  const local = localArtifactFiles(registry);
  if (local) return local.artifactPath(version);
  const path = join(home, "tmp", "artifacts", version.name, `v${version.version}`, version.artifact.file);
  const bytes = await registry.readArtifact(version); // verifies the sha256
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
  return path;
}

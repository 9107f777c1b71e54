/**
 * The registry as domain code reaches it: the port the composition root builds (`app.registry()`,
 * platform/adapters/local/file-model-registry.ts under every profile).
 */
import type { AppContext } from "../../platform/context.ts";
import type { WorkspaceModelRegistry } from "../../platform/ports/registry.ts";

export { AliasConflictError } from "../../platform/ports/registry.ts";

/** The registry for an app context. */
export function openRegistry(app: Pick<AppContext, "registry">): WorkspaceModelRegistry {
  return app.registry();
}

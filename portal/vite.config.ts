import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/** The portal's build: Preact through Vite's own JSX transform (no Babel preset needed). */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
});

#!/usr/bin/env node
// Launcher for any Node.js: `node bin/telco.js …` works even where the machine's Node is older than
// the 22+ that runs the TypeScript sources directly (Node 20 fails on bin/telco.ts with
// ERR_UNKNOWN_FILE_EXTENSION). It runs bin/telco.ts on this Node when it can, else on the Node 24
// pinned in node_modules (`npm ci` installs it), and says what to do when neither is there.
"use strict";
const { spawn } = require("node:child_process");
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const major = Number(process.versions.node.split(".")[0]);
const pinned = join(__dirname, "..", "node_modules", "node", "bin", "node");
const runtime = major >= 22 ? process.execPath : existsSync(pinned) ? pinned : undefined;
if (!runtime) {
  process.stderr.write(
    `error: telco needs Node.js 22 or newer (this is ${process.version}).\n` +
      "hint: run `npm ci` once (it installs the pinned Node 24), then `npm run telco -- <command>` or `npx telco <command>`.\n",
  );
  process.exit(1);
}
const child = spawn(runtime, ["--no-memory-reducer", join(__dirname, "telco.ts"), ...process.argv.slice(2)], {
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});

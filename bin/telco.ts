#!/usr/bin/env node
// Colours only for a person at a terminal: picocolors would also colour output when CI is set,
// which breaks piping and tests that read the text. Set before any module reads the environment.
if (!process.stdout.isTTY && process.env.FORCE_COLOR === undefined) process.env.NO_COLOR ??= "1";
const { main } = await import("../cli/main.ts");

// A command may set process.exitCode itself (e.g. a gate that printed its result and failed).
const code = await main(process.argv);
process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);

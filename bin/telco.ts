#!/usr/bin/env -S node --no-memory-reducer
// --no-memory-reducer (also in the npm scripts and bench:serve's server): V8's memory reducer compacts
// the whole heap when the allocation rate drops, e.g. when a busy API gets quieter, a 105–130 ms stop of
// the request thread (the half-load p99 of the distinct-customers route in every full bench:serve run).
// Without it the heap shrinks by ordinary collections only. It must be given at start: setting it with
// v8.setFlagsFromString in a running process was tried and does not stop the reducer.
// Colours only for a person at a terminal: picocolors would also colour output when CI is set,
// which breaks piping and tests that read the text. Set before any module reads the environment.
if (!process.stdout.isTTY && process.env.FORCE_COLOR === undefined) process.env.NO_COLOR ??= "1";
// The workspace holds customer data: files this process creates are private to its user (0600/0700).
process.umask(0o077);
// V8's code cache and the TypeScript stripping of our ~200 modules, kept across runs (in the OS temp
// folder, or NODE_COMPILE_CACHE): a one-turn `telco chat` spends ~30% less CPU starting up.
(await import("node:module")).enableCompileCache?.();
const { main } = await import("../cli/main.ts");

// A command may set process.exitCode itself (e.g. a gate that printed its result and failed).
const code = await main(process.argv);
process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);

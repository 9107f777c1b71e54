#!/usr/bin/env node
import { main } from "../cli/main.ts";

// A command may set process.exitCode itself (e.g. a gate that printed its result and failed).
const code = await main(process.argv);
process.exitCode = code !== 0 ? code : (process.exitCode ?? 0);

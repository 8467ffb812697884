#!/usr/bin/env node
// Entry of `npm run bench` (see bench/run.mjs for what is measured). Installs what is missing first,
// with Node's built-ins only, as `npm start` does, then runs the benchmark on a throwaway stack.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensurePrerequisites } from "../local/stack/prerequisites.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
await ensurePrerequisites(root);
const { runBench } = await import("./run.mjs");
process.exit(await runBench({ root, args: process.argv.slice(2) }));

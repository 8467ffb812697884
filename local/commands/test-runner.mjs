// `npm test`: static checks of the functions, then a throwaway stack (own ports, own data folder,
// removed afterwards) against which pgTAP (pg_prove) and vitest run. One summary line per suite,
// and a last line `total: N passed, M failed`. Exit status is non-zero on any failure.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { psql } from "../stack/database.mjs";
import { SUPERUSER, SUPERUSER_PASSWORD } from "../stack/postgres.mjs";
import { startThrowawayStack, statusEnv } from "../stack/stack.mjs";

function run(command, args, { cwd, env = {}, echo = true } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (chunk) => {
        output += chunk;
        if (echo) process.stdout.write(chunk);
      });
    }
    child.on("error", (error) => resolve({ code: 127, output: `${output}\n${error.message}` }));
    child.on("exit", (code) => resolve({ code: code ?? 1, output }));
  });
}

const heading = (text) => console.log(`\n=== ${text} ===`);

/** Counts of a pg_prove run from its closing lines ("Files=2, Tests=40", "Failed 3/40 subtests"). */
export function parseProveSummary(output) {
  const total = Number(/Files=\d+, Tests=(\d+)/.exec(output)?.[1] ?? 0);
  let failed = 0;
  for (const match of output.matchAll(/Failed (\d+)\/\d+ subtests/g)) failed += Number(match[1]);
  return { passed: total - failed, failed };
}

// What runs again on the legacy-key stack: everything that authenticates.
const LEGACY_SUITES = ["tests/local/keys.test.ts", "tests/auth", "tests/functions"];

/**
 * vitest over `files` (all of tests/ when empty) against `stack`; counts from its JSON report.
 * `out` collects its output instead of echoing it (a pass that runs beside another).
 */
async function runVitest(bin, root, stack, files, out = null) {
  const report = join(stack.dataDir, "vitest.json");
  const { code, output } = await run(bin("vitest"), [
    "run", ...files, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`,
  ], { cwd: root, env: { ...statusEnv(stack), FANTOOO_TEST_STACK: "1" }, echo: out === null });
  out?.push(output);
  let passed = 0, failed = 0;
  try {
    const json = JSON.parse(readFileSync(report, "utf8"));
    passed = json.numPassedTests;
    failed = json.numFailedTests;
  } catch {
    failed = 1; // no report: vitest itself failed
  }
  return { passed, failed, ok: code === 0 && passed > 0 };
}

/** Stops a throwaway stack, printing (with `print`) its logs' tails first when a suite failed. */
async function stopAndReport(stack, suites, print = (text) => console.log(text)) {
  if (!stack) return;
  await stack.stop();
  if (suites.some((s) => !s.ok)) {
    print(`logs of the failed run were in ${stack.logDir} (now removed); tails:`);
    for (const name of ["functions", "postgrest", "realtime"]) {
      const { output } = await run("tail", ["-n", "15", join(stack.logDir, `${name}.log`)], { echo: false });
      print(`--- ${name} ---\n${output}`);
    }
  }
  stack.remove();
}

/**
 * 6. The same suites of keys, Auth and functions on a legacy-key project (FANTOOO_LEGACY_JWT=1),
 *    so that both kinds of hosted project are covered; its functions go through the Data API
 *    (FUNCTIONS_DB=data-api), so that both ways from a function to SQL are covered too.
 * 7. A smoke run of the benchmark (every section at tiny sizes, its own stack, its own process:
 *    `npm run bench -- --quick`), so that it cannot rot; its timings mean nothing here.
 * Resolves with [{title, output}] to print; the counts go through `record`.
 */
async function runSideline({ bin, root, wants, record }) {
  const printed = [];
  if (wants("vitest") || wants("legacy")) {
    const out = [];
    const log = (line) => out.push(`[stack] ${line}\n`);
    let legacyStack;
    const legacySuites = [];
    try {
      legacyStack = await startThrowawayStack({
        root,
        prefix: "fantooo-legacy-",
        legacy: true,
        functionsDb: "data-api",
        log,
      });
      const { passed, failed, ok } = await runVitest(bin, root, legacyStack, LEGACY_SUITES, out);
      legacySuites.push({ ok });
      record("vitest (legacy keys)", passed, failed, ok);
    } catch (error) {
      out.push(`[stack] ${error.message}\n`);
      legacySuites.push({ ok: false });
      record("legacy stack", 0, 1, false);
    } finally {
      await stopAndReport(legacyStack, legacySuites, (text) => out.push(`${text}\n`));
    }
    printed.push({
      title: "vitest on a legacy-key stack (FANTOOO_LEGACY_JWT=1; functions through the Data API)",
      output: out.join(""),
    });
  }
  if (wants("bench")) {
    const { code, output } = await run(bin("node"), [join(root, "bench", "bench.mjs"), "--quick"], {
      cwd: root,
      echo: false,
    });
    record("bench smoke", code === 0 ? 1 : 0, code === 0 ? 0 : 1, code === 0);
    printed.push({ title: "bench --quick (npm run bench, smoke run)", output });
  }
  return printed;
}

export async function runTests({ root, args = [] }) {
  const bin = (name) => join(root, "node_modules", ".bin", name);
  const suites = [];
  const record = (name, passed, failed, ok) => suites.push({ name, passed, failed, ok: ok && failed === 0 });
  const only = new Set(args.filter((a) => !a.startsWith("-")));
  const wants = (suite) => only.size === 0 || only.has(suite);

  // 1. Type-check, lint and format of the Edge Functions (and the local functions server).
  if (wants("deno")) {
    heading("deno task check / lint / fmt");
    // The tasks of the root deno.json (the functions' workspace), as a developer runs them.
    const checks = ["check", "lint", "fmt"];
    let failed = 0;
    for (const task of checks) {
      const { code } = await run(bin("deno"), ["task", "-q", task], { cwd: root, env: { NO_COLOR: "1" } });
      console.log(`deno ${task}: ${code === 0 ? "ok" : "FAILED"}`);
      if (code !== 0) failed++;
    }
    record("deno", checks.length - failed, failed, true);
  }

  // 6-7. Beside the main suites, on stacks of their own: the legacy-key pass and the bench smoke,
  //      started once the main stack is up (a fresh clone has no supabase/signing_keys.json until
  //      a stack makes it, and the Supabase CLI reads it on every migration); their output is kept
  //      and printed at the end, so the whole run takes about as long as the main suites.
  let sideline = null;

  // 2. A throwaway stack.
  let stack;
  try {
    heading("throwaway stack");
    const started = Date.now();
    stack = await startThrowawayStack({
      root,
      prefix: "fantooo-test-",
      log: (line) => console.log(`[stack] ${line}`),
    });
    console.log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${stack.apiUrl}`);
    sideline = runSideline({ bin, root, wants, record });

    // 3. pgTAP, as the superuser, on the migrated and seeded database.
    if (wants("pgtap")) {
      heading("pgTAP (pg_prove supabase/tests)");
      psql(stack.cluster, { sql: "create extension if not exists pgtap with schema extensions" });
      const url = new URL(stack.dbUrl);
      const { code, output } = await run("pg_prove", [
        "-h", url.hostname, "-p", url.port, "-U", SUPERUSER, "-d", url.pathname.slice(1),
        "--ext", ".sql", "-r", "supabase/tests",
      ], { cwd: root, env: { PGPASSWORD: SUPERUSER_PASSWORD, PGOPTIONS: "-c search_path=public,extensions" } });
      const { passed, failed } = parseProveSummary(output);
      record("pgTAP", passed, failed, code === 0 && passed > 0);
    }

    // 4. vitest, over HTTP through the gateway and directly on the database.
    if (wants("vitest")) {
      heading("vitest (tests/)");
      const { passed, failed, ok } = await runVitest(bin, root, stack, []);
      record("vitest", passed, failed, ok);
    }

    // 5. A small simulated day on the same stack: every invariant of the spec, one query each.
    if (wants("simulate")) {
      heading("simulate --small (npm run simulate)");
      const { runSimulation } = await import("./simulate.mjs");
      const result = await runSimulation({ env: statusEnv(stack), scale: "small", log: (line) => console.log(line) });
      const passed = result.invariants?.filter((i) => i.ok).length ?? 0;
      const failed = (result.invariants?.length ?? 0) - passed + (result.error ? 1 : 0);
      if (result.error) console.log(`simulate: ${result.error}`);
      record("simulate", passed, failed, result.ok && passed > 0);
    }
  } catch (error) {
    console.error(`[stack] ${error.message}`);
    record("stack", 0, 1, false);
  } finally {
    await stopAndReport(stack, suites);
  }

  // 6-7. What ran beside the main suites (the legacy-key pass and the bench smoke), printed now.
  const side = await (sideline ?? runSideline({ bin, root, wants, record }));
  for (const { title, output } of side) {
    heading(title);
    process.stdout.write(output);
  }

  console.log("\n=== summary ===");
  for (const s of suites) console.log(`${s.name}: ${s.passed} passed, ${s.failed} failed${s.ok ? "" : "  <-- FAILED"}`);
  const passed = suites.reduce((n, s) => n + s.passed, 0);
  const failed = suites.reduce((n, s) => n + s.failed + (s.ok || s.failed ? 0 : 1), 0);
  console.log(`total: ${passed} passed, ${failed} failed`);
  return suites.every((s) => s.ok) ? 0 : 1;
}

// The local stack's supervisor (local/stack/supervisor.mjs): bounded backoff, and a child that dies
// is started again while the stack wants it, not after.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM module of the local stack
import { restartDelay, superviseChild, supervisePostgres } from "../../local/stack/supervisor.mjs";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("restartDelay", () => {
  const cases: Array<[number, number]> = [[0, 500], [1, 1000], [2, 2000], [5, 16000], [6, 30000], [20, 30000]];
  it.each(cases)("restart %i waits %i ms", (attempt, ms) => {
    expect(restartDelay(attempt)).toBe(ms);
  });
});

describe("superviseChild", () => {
  it("starts a child that dies again, with a log line, until told to stop", async () => {
    const lines: string[] = [];
    let wanted = true;
    let launches = 0;
    const handle = superviseChild({
      name: "sleeper",
      log: (line: string) => lines.push(line),
      shouldRestart: () => wanted,
      launch: () => {
        launches++;
        return spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
      },
    });
    const first = handle.current;
    first.kill("SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(launches).toBe(2);
    expect(handle.current.pid).not.toBe(first.pid);
    expect(lines[0]).toMatch(/^sleeper stopped unexpectedly \(SIGKILL\); restarting in 500 ms \(restart 1\)$/);

    wanted = false;
    const second = handle.current;
    await new Promise((resolve) => {
      second.once("exit", resolve);
      second.kill("SIGKILL");
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(launches).toBe(2); // stopping: not started again
  });
});

describe("supervisePostgres", () => {
  // A stand-in cluster: postmaster.pid names a sleeping process; the start command (pg_ctl's part)
  // fails while a live one is named there, else starts one and names it, as `pg_ctl start` does.
  const startScript = `
    const fs = require("node:fs");
    const { spawn } = require("node:child_process");
    const file = process.argv[1] + "/postmaster.pid";
    try {
      process.kill(Number(fs.readFileSync(file, "utf8").split("\\n")[0]), 0);
      process.exit(1); // another server is running
    } catch {}
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 120000)"], { detached: true, stdio: "ignore" });
    fs.writeFileSync(file, child.pid + "\\n");
    child.unref();
  `;

  it("watches a cluster restarted from outside, and a crash after that is restarted at once", { timeout: 30_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fantooo-supervisor-"));
    const pidFile = join(dataDir, "postmaster.pid");
    const ours: ChildProcess[] = [];
    const postmaster = () => {
      const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 120000)"]);
      ours.push(child);
      writeFileSync(pidFile, `${child.pid}\n`);
      return child;
    };
    const lines: string[] = [];
    let wanted = true;
    const first = postmaster();
    const handle = supervisePostgres({
      cluster: { dataDir, logFile: join(dataDir, "postgres.log") },
      log: (line: string) => lines.push(line),
      shouldRestart: () => wanted,
      startCommand: () => [process.execPath, ["-e", startScript, dataDir]],
    });
    try {
      // Restarted from outside: stopped, noticed by the supervisor, started again by someone else
      // before the supervisor's own start.
      rmSync(pidFile);
      first.kill("SIGKILL");
      for (const deadline = Date.now() + 3_000; lines.length === 0 && Date.now() < deadline;) await sleep(10);
      expect(lines[0]).toMatch(/^PostgreSQL stopped unexpectedly; restarting in 500 ms \(restart 1\)/);
      const outside = postmaster();
      await sleep(3_500);
      // It took the running cluster as it found it: no start attempts piling up with backoff.
      expect(lines.slice(1)).toEqual([`PostgreSQL is running again (pid ${outside.pid}, started outside the stack); watching it`]);

      // Then a crash (kill -9 leaves the lock file): back after the first backoff, 0.5 s.
      outside.kill("SIGKILL");
      const crashed = Date.now();
      let back = 0;
      while (Date.now() - crashed < 15_000) {
        if (lines.at(-1) === "PostgreSQL is back") {
          back = Date.now() - crashed;
          const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
          expect(pid).not.toBe(outside.pid);
          ours.push({ kill: () => process.kill(pid, "SIGKILL") } as unknown as ChildProcess);
          break;
        }
        await sleep(20);
      }
      expect(lines.at(-2)).toMatch(/restarting in 500 ms \(restart 1\)/);
      expect(lines.at(-1)).toBe("PostgreSQL is back");
      expect(back).toBeGreaterThan(0);
      expect(back).toBeLessThan(4_000);
    } finally {
      wanted = false;
      handle.stop();
      for (const child of ours) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

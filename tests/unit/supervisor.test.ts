// The local stack's supervisor (local/stack/supervisor.mjs): bounded backoff, and a child that dies
// is started again while the stack wants it, not after.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM module of the local stack
import { restartDelay, superviseChild } from "../../local/stack/supervisor.mjs";

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

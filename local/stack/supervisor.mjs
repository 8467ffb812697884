// Keeps the stack's processes up: a child that dies after the stack started (PostgREST, the
// functions server) is started again, and so is Postgres (which pg_ctl runs as a daemon, so it is
// watched through its postmaster.pid), each with a log line and a bounded backoff. During start-up
// a death is fatal instead: startStack reports it.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Backoff before restart number `attempt` (0-based): 0.5 s doubling, at most 30 s. */
export function restartDelay(attempt) {
  return Math.min(30_000, 500 * 2 ** attempt);
}

// A process that stayed up this long is healthy again: its next death starts the backoff afresh.
const STABLE_MS = 30_000;

/**
 * Runs `launch()` (which spawns and returns a ChildProcess) and launches it again whenever it exits
 * while `shouldRestart()` holds. `onExit(child, code, signal)` runs on every exit, first.
 */
export function superviseChild({ name, launch, shouldRestart, onExit = () => {}, onRestart = () => {}, log }) {
  let attempt = 0;
  let timer = null;
  const handle = { current: null, restarts: 0 };

  function run() {
    const child = launch();
    const startedAt = Date.now();
    handle.current = child;
    child.on("exit", (code, signal) => {
      onExit(child, code, signal);
      if (!shouldRestart()) return;
      if (Date.now() - startedAt > STABLE_MS) attempt = 0;
      const delay = restartDelay(attempt++);
      log(`${name} stopped unexpectedly (${signal ?? `exit ${code}`}); restarting in ${delay} ms (restart ${attempt})`);
      timer = setTimeout(() => {
        timer = null;
        if (!shouldRestart()) return;
        handle.restarts++;
        run();
        onRestart(handle.current);
      }, delay);
    });
    return child;
  }

  run();
  handle.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return handle;
}

/** The postmaster's pid from its lock file, or null. */
export function postmasterPid(dataDir) {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/** The live postmaster of `dataDir` (whoever started it), or null. */
function runningPostmaster(dataDir) {
  const pid = postmasterPid(dataDir);
  return pid && alive(pid) ? pid : null;
}

/**
 * Watches the cluster's postmaster once a second and starts it again (pg_ctl, without blocking
 * the gateway and the Auth API that share this process) when it is gone. Clients reconnect by
 * themselves: PostgREST retries, the drainer and the Auth API reconnect on their next query.
 * It watches whatever postmaster runs on the data folder, whoever started it: when someone else
 * brings the cluster back first (`pg_ctl restart`, `npm run db:reset`), it stops trying and that
 * start counts as none of its restarts, so the next crash is again restarted after 0.5 s.
 */
export function supervisePostgres({ cluster, shouldRestart, log, startCommand }) {
  let attempt = 0;
  let restarting = false;
  let upSince = Date.now();
  const handle = { restarts: 0 };

  const tick = async () => {
    if (restarting || !shouldRestart()) return;
    if (runningPostmaster(cluster.dataDir)) {
      if (Date.now() - upSince > STABLE_MS) attempt = 0;
      return;
    }
    restarting = true;
    const attemptsBefore = attempt;
    // Someone else started it (between two looks, or while our pg_ctl lost the race to theirs).
    const startedElsewhere = () => {
      const pid = runningPostmaster(cluster.dataDir);
      if (!pid) return false;
      attempt = attemptsBefore;
      log(`PostgreSQL is running again (pid ${pid}, started outside the stack); watching it`);
      return true;
    };
    try {
      while (shouldRestart()) {
        const delay = restartDelay(attempt++);
        log(`PostgreSQL stopped unexpectedly; restarting in ${delay} ms (restart ${attempt}); its log: ${cluster.logFile}`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (!shouldRestart() || startedElsewhere()) break;
        const [file, args] = startCommand();
        const code = await new Promise((resolve) => {
          const child = spawn(file, args, { stdio: "ignore" });
          child.on("exit", (c) => resolve(c ?? 1));
          child.on("error", () => resolve(1));
        });
        if (code === 0) {
          handle.restarts++;
          upSince = Date.now();
          log("PostgreSQL is back");
          break;
        }
        if (startedElsewhere()) break;
      }
    } finally {
      restarting = false;
    }
  };
  const timer = setInterval(() => void tick(), 1000);
  timer.unref?.();
  handle.stop = () => clearInterval(timer);
  return handle;
}

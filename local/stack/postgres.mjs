// The PostgreSQL 15 cluster of the local stack: created once under an ignored folder, reused by
// later starts. initdb and postgres refuse to run as root, so as root they run as the `postgres`
// OS user, which then owns the data folder.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PG_BIN } from "./prerequisites.mjs";

export const SUPERUSER = "postgres";
export const SUPERUSER_PASSWORD = "postgres";
export const DATABASE = "postgres";

const isRoot = () => process.getuid?.() === 0;

function postgresOsUser() {
  const result = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error("running as root needs the `postgres` OS user (apt-get install postgresql-15 creates it)");
  }
  return { uid: Number(result.stdout.trim()), gid: Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim()) };
}

/** The command line of a PostgreSQL server binary, as the postgres OS user when we are root. */
function pgCommand(binary, args) {
  const command = join(PG_BIN, binary);
  if (!existsSync(command)) {
    throw new Error(`${command} not found: install postgresql-15 or set PG_BIN to its bin folder`);
  }
  return isRoot() ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

/** Runs a PostgreSQL server binary, as the postgres OS user when we are root. */
function runPgBinary(binary, args, { allowFailure = false } = {}) {
  const [file, argv] = pgCommand(binary, args);
  const result = spawnSync(file, argv, { encoding: "utf8" });
  if (result.status !== 0 && !allowFailure) {
    throw new Error(`${binary} ${args.join(" ")} failed:\n${result.stderr || result.stdout}`);
  }
  return result;
}

export class Cluster {
  /** @param {{dir: string, port: number}} options dir holds data/, run/ (socket) and postgres.log */
  constructor({ dir, port }) {
    this.dir = dir;
    this.port = port;
    this.dataDir = join(dir, "data");
    this.socketDir = join(dir, "run");
    this.logFile = join(dir, "postgres.log");
  }

  url(user = SUPERUSER, password = SUPERUSER_PASSWORD, database = DATABASE) {
    return `postgresql://${user}:${password}@127.0.0.1:${this.port}/${database}`;
  }

  get exists() {
    return existsSync(join(this.dataDir, "PG_VERSION"));
  }

  /** Creates the cluster if there is none. Returns true when it was created now. */
  init() {
    if (this.exists) return false;
    for (const dir of [this.dir, this.socketDir]) mkdirSync(dir, { recursive: true });
    if (isRoot()) {
      const { uid, gid } = postgresOsUser();
      for (const dir of [this.dir, this.socketDir]) chownSync(dir, uid, gid);
      const probe = spawnSync("runuser", ["-u", "postgres", "--", "test", "-w", this.dir]);
      if (probe.status !== 0) {
        throw new Error(
          `the postgres OS user cannot write ${this.dir} (a parent folder is private?); ` +
            "clone the project where other users can traverse, or set FANTOOO_DATA_DIR",
        );
      }
    }
    const pwfile = join(this.dir, ".pwfile");
    writeFileSync(pwfile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o644 });
    try {
      runPgBinary("initdb", [
        "-D", this.dataDir, "-U", SUPERUSER, `--pwfile=${pwfile}`, "-E", "UTF8", "--locale=C.UTF-8",
        "--auth-local=trust", "--auth-host=scram-sha-256",
      ]);
    } finally {
      spawnSync("rm", ["-f", pwfile]);
    }
    const conf = join(this.dataDir, "postgresql.conf");
    writeFileSync(conf, readFileSync(conf, "utf8") + [
      "",
      "# fantooo local stack",
      "listen_addresses = '127.0.0.1'",
      "shared_preload_libraries = 'pg_cron'",
      `cron.database_name = '${DATABASE}'`,
      "cron.use_background_workers = on",
      "max_worker_processes = 32",
      "max_connections = 200",
      "timezone = 'UTC'",
      "log_min_messages = warning",
      "",
    ].join("\n"));
    this.ensureSettings();
    return true;
  }

  /**
   * Settings added since the first clusters were made, appended to postgresql.conf when missing
   * (a cluster made before them gets them at its next start): logical decoding for the local
   * Realtime server, which reads the WAL with wal2json as hosted Realtime reads it. Returns true
   * when the file changed (a running server must restart to apply wal_level).
   */
  ensureSettings() {
    if (!this.exists) return false;
    const conf = join(this.dataDir, "postgresql.conf");
    const text = readFileSync(conf, "utf8");
    const wanted = ["wal_level = logical", "max_replication_slots = 20", "max_wal_senders = 20"];
    const missing = wanted.filter((line) => !text.includes(`\n${line}\n`));
    if (missing.length === 0) return false;
    writeFileSync(conf, `${text.endsWith("\n") ? text : `${text}\n`}# fantooo local stack: Realtime\n${missing.join("\n")}\n`);
    return true;
  }

  get running() {
    return runPgBinary("pg_ctl", ["-D", this.dataDir, "status"], { allowFailure: true }).status === 0;
  }

  start() {
    if (this.running) return false;
    const [file, argv] = this.startCommand();
    const result = spawnSync(file, argv, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`pg_ctl start failed:\n${result.stderr || result.stdout}`);
    return true;
  }

  /** `pg_ctl start` (waiting until it accepts connections), to run sync or async. */
  startCommand() {
    return pgCommand("pg_ctl", [
      "-D", this.dataDir, "-l", this.logFile, "-w", "-t", "60",
      "-o", `-p ${this.port} -k ${this.socketDir}`, "start",
    ]);
  }

  /** A fast restart: clients (PostgREST, the drainer) reconnect by themselves. */
  restart() {
    runPgBinary("pg_ctl", [
      "-D", this.dataDir, "-l", this.logFile, "-m", "fast", "-w", "-t", "60",
      "-o", `-p ${this.port} -k ${this.socketDir}`, "restart",
    ]);
  }

  stop() {
    if (!this.exists || !this.running) return;
    runPgBinary("pg_ctl", ["-D", this.dataDir, "-m", "fast", "-w", "stop"], { allowFailure: true });
  }

  logTail(lines = 20) {
    try {
      return execFileSync("tail", ["-n", String(lines), this.logFile], { encoding: "utf8" });
    } catch {
      return "";
    }
  }
}

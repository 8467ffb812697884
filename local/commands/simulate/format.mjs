// Pure helpers of `npm run simulate` (local/commands/simulate.mjs): the scales, the simulated
// clock, a seeded random generator, percentiles and the aligned tables it prints. No I/O here, so
// tests/local/simulate.test.ts covers them table-driven.

/**
 * How big a run is. A tick is one step of simulated time (`minutesPerTick` of the day) and lasts
 * at least `tickMs` of real time; `idleTimeoutMs` is what settings.idle_timeout is lowered to for
 * the run, `sweepMs` how often the idle sweeper's cron command runs.
 */
export const SCALES = {
  small: {
    users: 6,
    operators: 3, // one steady, one that goes silent, one whose connection flaps
    profiles: 4,
    ticks: 10,
    minutesPerTick: 144, // 10 ticks = 24 h
    tickMs: 900,
    idleTimeoutMs: 2500,
    sweepMs: 700,
  },
  day: {
    users: 40,
    operators: 6,
    profiles: 10,
    ticks: 48,
    minutesPerTick: 30,
    tickMs: 1500,
    idleTimeoutMs: 4000,
    sweepMs: 1000,
  },
};

/** The simulated time of day at the start of tick `tick` (the day starts at 06:00): "HH:MM". */
export function clockLabel(tick, minutesPerTick, startMinutes = 6 * 60) {
  const total = (startMinutes + tick * minutesPerTick) % (24 * 60);
  const hours = Math.floor(total / 60);
  const minutes = Math.round(total % 60);
  return `${String(hours).padStart(2, "0")}:${String(minutes).padStart(2, "0")}`;
}

/**
 * How busy users are at a time of day ("HH:MM"), 0..1: evenings are the peak, the small hours
 * quiet. Scales the chance that a user writes in a tick.
 */
export function activityAt(clock) {
  const hour = Number(clock.slice(0, 2));
  if (hour >= 18 && hour < 24) return 1;
  if (hour >= 1 && hour < 7) return 0.3;
  return 0.7;
}

/** A small seeded generator (mulberry32): the same seed gives the same run of choices. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** true with probability p */
    chance: (p) => next() < p,
    /** an integer in [min, max] */
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    /** one element of a non-empty array */
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}

/**
 * The p-th percentile (0..100) of the numbers, by linear interpolation between closest ranks
 * (what Postgres' percentile_cont does); null for an empty list.
 */
export function percentile(values, p) {
  if (!values.length) return null;
  if (p < 0 || p > 100) throw new RangeError(`percentile ${p} is not within 0..100`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/** A number of seconds as people read it: "0.42 s", "12.3 s", "4 min 05 s"; "-" for null. */
export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "-";
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(Math.round(seconds - minutes * 60)).padStart(2, "0")} s`;
}

/**
 * Rows of cells as an aligned plain-text table: a header row, a rule, then the rows. Columns are
 * as wide as their widest cell; a column whose body cells are all numbers (or "-") is aligned
 * right, any other left. Cells are turned into strings (null and undefined become "-").
 * @param {string[]} header
 * @param {Array<Array<unknown>>} rows
 * @returns {string} lines joined with "\n", no trailing spaces
 */
export function formatTable(header, rows) {
  const text = (cell) => (cell === null || cell === undefined ? "-" : String(cell));
  const cells = rows.map((row) => header.map((_, i) => text(row[i])));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const numeric = header.map((_, i) =>
    cells.length > 0 && cells.every((row) => /^-?[\d.,]+( \S+)?$|^-$/.test(row[i])) &&
    cells.some((row) => row[i] !== "-")
  );
  const line = (row) =>
    row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

/**
 * The options of `npm run simulate -- …`: --small, --throwaway, --seed <n>, --all (check the
 * structural invariants over the whole database, not only the run's rows). Throws on anything else.
 */
export function parseSimulateArgs(args) {
  const options = { scale: "day", throwaway: false, seed: undefined, scope: "run" };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--small") options.scale = "small";
    else if (arg === "--throwaway") options.throwaway = true;
    else if (arg === "--all") options.scope = "all";
    else if (arg === "--seed" || arg.startsWith("--seed=")) {
      const value = arg.includes("=") ? arg.slice("--seed=".length) : args[++i];
      if (!/^\d+$/.test(value ?? "")) throw new Error(`--seed needs a whole number, not ${value ?? "nothing"}`);
      options.seed = Number(value);
    } else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

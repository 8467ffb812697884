// Pure helpers of the benchmark: percentiles, the rows of latest.json, targets, the printed table
// and the progress bar. No I/O here (tests/unit/bench.test.ts covers them).
import { cpuPerOp } from "./cpu.mjs";

/**
 * Nearest-rank percentiles of `samples` (any order, any unit): for each p in `ps`, the smallest
 * sample with at least p% of the samples at or below it. Null for no samples.
 */
export function percentiles(samples, ps = [50, 95, 99]) {
  const sorted = Float64Array.from(samples).sort();
  return ps.map((p) => {
    if (sorted.length === 0) return null;
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
  });
}

const round = (value, digits) => (value == null || !Number.isFinite(value) ? null : Number(value.toFixed(digits)));

/**
 * One row of latest.json: `{name, ops_per_s, p50_ms, p95_ms, p99_ms, baseline, ratio, target}`.
 * `measurement` is `{ops, seconds, latenciesMs}` (or `{opsPerS, p50Ms, p95Ms, p99Ms}` already
 * computed). `baseline` is the row it is compared with (its name is written), or null. `target`
 * is SPEC 13's figure: with a baseline, the minimum ratio; without one, the maximum p95 in ms.
 * A measurement with `cpu` ({group: ms}, lib/cpu.mjs) gives the row `cpu_ms_per_op` ({group: ms
 * per operation}); without one the row has no such field.
 */
export function makeRow(name, measurement, { baseline = null, target = null, ...extra } = {}) {
  const opsPerS = measurement.opsPerS ?? (measurement.seconds > 0 ? measurement.ops / measurement.seconds : null);
  const [p50, p95, p99] = measurement.latenciesMs
    ? percentiles(measurement.latenciesMs)
    : [measurement.p50Ms, measurement.p95Ms, measurement.p99Ms];
  const cpuMsPerOp = cpuPerOp(measurement.cpu, measurement.ops);
  return {
    name,
    ops_per_s: round(opsPerS, 1),
    p50_ms: round(p50, 3),
    p95_ms: round(p95, 3),
    p99_ms: round(p99, 3),
    baseline: baseline?.name ?? null,
    ratio: baseline && baseline.ops_per_s > 0 && opsPerS != null ? round(opsPerS / baseline.ops_per_s, 3) : null,
    target,
    ...(cpuMsPerOp ? { cpu_ms_per_op: cpuMsPerOp } : {}),
    ...extra,
  };
}

/**
 * The fields of a row that latest.json holds, in its order (rows carry extra ones for the chart);
 * `cpu_ms_per_op` only on a row that measured it.
 */
export function publicRow(row) {
  const { name, ops_per_s, p50_ms, p95_ms, p99_ms, baseline, ratio, target, cpu_ms_per_op } = row;
  return { name, ops_per_s, p50_ms, p95_ms, p99_ms, baseline, ratio, target, ...(cpu_ms_per_op ? { cpu_ms_per_op } : {}) };
}

/**
 * Whether a row meets its target: a row with a ratio needs ratio >= target (throughput against a
 * ceiling); a row without one needs p95_ms <= target (latency). Null when the row has no target
 * or nothing was measured.
 */
export function meetsTarget(row) {
  if (row.target == null) return null;
  if (row.ratio != null) return row.ratio >= row.target;
  if (row.p95_ms != null) return row.p95_ms <= row.target;
  return null;
}

/** What the target column of the table says for a row. */
export function targetText(row) {
  if (row.target == null) return "-";
  const met = meetsTarget(row);
  const mark = met == null ? "?" : met ? "met" : "MISSED";
  return row.ratio != null ? `>= ${row.target} ${mark}` : `p95 <= ${row.target} ms ${mark}`;
}

const fixed = (value, digits) => (value == null ? "-" : value.toFixed(digits));

/** The printed table, one line per row (an array of lines). */
export function formatTable(rows) {
  const header = ["name", "ops/s", "p50 ms", "p95 ms", "p99 ms", "ratio", "target"];
  const cells = rows.map((r) => [
    r.name,
    fixed(r.ops_per_s, 0),
    fixed(r.p50_ms, 2),
    fixed(r.p95_ms, 2),
    fixed(r.p99_ms, 2),
    r.ratio == null ? (r.baseline || r.series != null ? "-" : "ceiling") : r.ratio.toFixed(2),
    targetText(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i === 0 || i === 6 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ").trimEnd();
  return [line(header), ...cells.map(line)];
}

/** One line of a progress bar: `label [#####.....]  50%`. */
export function progressLine(label, done, total, width = 30) {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

/** Parses the per-transaction log lines of `pgbench --log` into latencies in ms. */
export function parsePgbenchLog(text) {
  const latencies = [];
  for (const line of text.split("\n")) {
    // client_id transaction_no time(us) script_no time_epoch time_us [schedule_lag]
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    const micros = Number(fields[2]);
    if (Number.isFinite(micros)) latencies.push(micros / 1000);
  }
  return latencies;
}

/** The figures of a pgbench run from its output: transactions processed and tps (without connecting). */
export function parsePgbenchSummary(output) {
  const processed = /number of transactions actually processed:\s*(\d+)/.exec(output);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
  const failed = /number of failed transactions:\s*(\d+)/.exec(output);
  return {
    transactions: processed ? Number(processed[1]) : 0,
    tps: tps ? Number(tps[1]) : null,
    failed: failed ? Number(failed[1]) : 0,
  };
}

// The chart of a bench run (bench/results/latest.svg), hand-written SVG: throughput bars of each
// section beside its ceilings (each section on its own scale), and p95 latency against data size
// for the growth rows, with the target as a dashed line.

const esc = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const num = (n, digits = 0) => Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The label of a bar: the row name without its section and without its " vs …" comparison. */
export function barLabel(name) {
  return name.replace(/^[a-z]+: /, "").replace(/ vs [^,]*$/, "").replace(/,$/, "");
}

const WIDTH = 980;
const BAR = 16;
const GAP = 6;

function throughputPanel(rows, top) {
  const parts = [];
  const sections = [...new Set(rows.filter((r) => r.series == null && r.ops_per_s != null).map((r) => r.section))];
  let y = top;
  parts.push(`<text x="20" y="${y}" class="h">Throughput (ops/s) beside its ceilings, each section on its own scale</text>`);
  y += 14;
  for (const section of sections) {
    // One bar per measurement: a measured row compared with two ceilings appears once.
    const bars = [];
    for (const row of rows.filter((r) => r.section === section && r.series == null && r.ops_per_s != null)) {
      const label = barLabel(row.name);
      const ratios = row.ratio != null ? [`${row.ratio.toFixed(2)}${row.target != null ? ` (≥ ${row.target})` : ""}`] : [];
      const same = bars.find((b) => b.label === label && b.ops === row.ops_per_s);
      if (same) same.ratios.push(...ratios);
      else bars.push({ label, ops: row.ops_per_s, ceiling: row.baseline == null, ratios, met: [] });
      const bar = same ?? bars.at(-1);
      if (row.target != null) bar.met.push(row.ratio >= row.target);
    }
    const max = Math.max(...bars.map((b) => b.ops));
    y += 18;
    parts.push(`<text x="20" y="${y}" class="s">${esc(section)}</text>`);
    y += 6;
    for (const bar of bars) {
      const w = Math.max(1, (bar.ops / max) * 360);
      const cls = bar.ceiling ? "ceiling" : bar.met.length && bar.met.every(Boolean) ? "met" : bar.met.length ? "missed" : "bar";
      const note = bar.ratios.length ? `  ratio ${bar.ratios.join(", ")}` : bar.ceiling ? "  (ceiling)" : "";
      parts.push(
        `<text x="20" y="${y + 12}" class="l">${esc(bar.label.slice(0, 62))}</text>`,
        `<rect x="440" y="${y}" width="${w.toFixed(1)}" height="${BAR}" class="${cls}"/>`,
        `<text x="${(444 + w).toFixed(1)}" y="${y + 12}" class="v">${num(bar.ops)}${esc(note)}</text>`,
      );
      y += BAR + GAP;
    }
  }
  return { svg: parts.join("\n"), bottom: y };
}

function latencyPanel(rows, top) {
  const series = [...new Set(rows.filter((r) => r.series != null).map((r) => r.series))];
  if (!series.length) return { svg: "", bottom: top };
  const parts = [`<text x="20" y="${top}" class="h">p95 latency (ms) against data size; dashed: target</text>`];
  const pw = 270;
  const ph = 170;
  const y0 = top + 20;
  series.forEach((name, i) => {
    const points = rows.filter((r) => r.series === name && r.p95_ms != null).sort((a, b) => a.size - b.size);
    const x0 = 60 + i * (pw + 30);
    const target = points.find((p) => p.target != null)?.target ?? null;
    const yMax = Math.max(...points.map((p) => p.p95_ms), target ?? 0) * 1.15 || 1;
    const sizes = points.map((p) => p.size);
    const [lo, hi] = [Math.log10(Math.min(...sizes)), Math.log10(Math.max(...sizes))];
    const px = (size) => x0 + (hi === lo ? pw / 2 : ((Math.log10(size) - lo) / (hi - lo)) * (pw - 40) + 20);
    const py = (ms) => y0 + ph - (ms / yMax) * ph;
    parts.push(
      `<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" class="frame"/>`,
      `<text x="${x0}" y="${y0 - 4}" class="s">${esc(name)}</text>`,
      `<text x="${x0 - 6}" y="${y0 + 10}" class="a" text-anchor="end">${num(yMax, 1)}</text>`,
      `<text x="${x0 - 6}" y="${y0 + ph}" class="a" text-anchor="end">0</text>`,
    );
    if (target != null) {
      parts.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${py(target).toFixed(1)}" y2="${py(target).toFixed(1)}" class="target"/>`,
        `<text x="${x0 + pw - 4}" y="${(py(target) - 4).toFixed(1)}" class="a" text-anchor="end">target ${num(target, 2)} ms</text>`);
    }
    if (points.length > 1) {
      parts.push(`<polyline points="${points.map((p) => `${px(p.size).toFixed(1)},${py(p.p95_ms).toFixed(1)}`).join(" ")}" class="line"/>`);
    }
    for (const p of points) {
      parts.push(
        `<circle cx="${px(p.size).toFixed(1)}" cy="${py(p.p95_ms).toFixed(1)}" r="4" class="${p.target == null ? "point" : p.p95_ms <= p.target ? "met" : "missed"}"/>`,
        `<text x="${px(p.size).toFixed(1)}" y="${(py(p.p95_ms) - 8).toFixed(1)}" class="v" text-anchor="middle">${num(p.p95_ms, 2)}</text>`,
        `<text x="${px(p.size).toFixed(1)}" y="${y0 + ph + 14}" class="a" text-anchor="middle">${num(p.size)}</text>`,
      );
    }
  });
  return { svg: parts.join("\n"), bottom: y0 + ph + 30 };
}

/** The whole chart for `rows` (with their `section`, `series`, `size` fields) and `machine`. */
export function renderSvg(rows, machine = {}) {
  const title = `npm run bench, ${String(machine.date ?? "").slice(0, 10)}: ${machine.cpus ?? "?"} CPUs (${machine.model ?? "?"}), ` +
    `PostgreSQL ${String(machine.postgres ?? "?").split(" ")[0]}, Node ${machine.node ?? "?"}`;
  const through = throughputPanel(rows, 68);
  const latency = latencyPanel(rows, through.bottom + 30);
  const height = latency.bottom + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">
<style>
.t{font-size:14px;font-weight:bold}.h{font-size:13px;font-weight:bold}.s{font-size:12px;font-weight:bold;fill:#333}
.l{font-size:11px;fill:#222}.v{font-size:10px;fill:#444}.a{font-size:10px;fill:#666}
.bar{fill:#5b8def}.ceiling{fill:#b8c2cc}.met{fill:#2e9e5b}.missed{fill:#d9534f}.point{fill:#5b8def}
.frame{fill:none;stroke:#ccc}.line{fill:none;stroke:#5b8def;stroke-width:2}.target{stroke:#d9534f;stroke-dasharray:5 4}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="24" class="t">${esc(title)}</text>
<text x="20" y="40" class="a">grey: ceiling measured in the same run; green: meets SPEC 13's target; red: misses it; blue: no target</text>
${through.svg}
${latency.svg}
</svg>
`;
}

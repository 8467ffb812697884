// Where a functions server spends its CPU: a V8 CPU profile (the inspector's Profiler domain) taken
// under load, each sample's self time put in one stage of the path a request takes through the
// server (bench/README.md, "The HTTP layer"). Pure but for recordProfile.

/** The stages, in the order a request meets them. */
export const STAGES = [
  "Deno HTTP server, Request/Response, streams",
  "hono (routing, middleware, context)",
  "jose (token check)",
  "crypto (signature, HMAC)",
  "zod (validation)",
  "JSON",
  "the functions' own code",
  "postgres.js (driver)",
  "Node compatibility (node:net sockets, Buffer, streams)",
  "logging",
  "garbage collection",
  "other (V8, runtime)",
];

const NATIVE_JSON = new Set(["parse", "stringify", "JSONParse", "JSONStringify"]);
const NATIVE_CRYPTO = new Set(["verify", "sign", "digest", "importKey"]);
// Deno's node:net writes and reads (postgres.js runs on Deno's Node compatibility layer).
const NATIVE_SOCKET = new Set(["writeBuffer", "writeUtf8String", "readStart", "op_node_encoding_slice"]);

/** The stage of one profile node's call frame ({url, functionName}); null for idle time. */
export function stageOf({ url = "", functionName = "" }) {
  if (functionName === "(idle)") return null;
  if (functionName === "(garbage collector)") return "garbage collection";
  if (!url) {
    if (NATIVE_JSON.has(functionName)) return "JSON";
    if (NATIVE_CRYPTO.has(functionName) || /^op_node_(hash|create_hash|hmac)/.test(functionName)) return "crypto (signature, HMAC)";
    if (functionName.startsWith("op_encoding_")) return "JSON"; // the body's bytes decoded for JSON.parse
    if (NATIVE_SOCKET.has(functionName) || functionName.startsWith("op_net_")) return "Node compatibility (node:net sockets, Buffer, streams)";
    if (functionName.startsWith("op_http_") || functionName.startsWith("op_fetch_")) return "Deno HTTP server, Request/Response, streams";
    if (functionName === "op_print" || functionName === "log") return "logging";
    return "other (V8, runtime)";
  }
  if (/\/jose\//.test(url)) return "jose (token check)";
  if (/\/hono\/|@hono\//.test(url)) return "hono (routing, middleware, context)";
  if (/\/zod\//.test(url)) return "zod (validation)";
  if (/\/postgres\/src\//.test(url)) return "postgres.js (driver)";
  if (/^ext:deno_crypto/.test(url) || /^ext:deno_node\/internal\/crypto/.test(url)) return "crypto (signature, HMAC)";
  if (/^ext:deno_console/.test(url)) return "logging";
  if (/^ext:deno_node/.test(url) || /^node:/.test(url)) return "Node compatibility (node:net sockets, Buffer, streams)";
  if (/^ext:/.test(url)) return "Deno HTTP server, Request/Response, streams";
  if (/\/supabase\/functions\/|\/local\/stack\/functions-server\.ts/.test(url)) return "the functions' own code";
  return "other (V8, runtime)";
}

/**
 * Self time per stage of a CPU profile ({nodes: [{id, callFrame, children}], samples, timeDeltas}),
 * as shares of the busy (non-idle) time, and the busy share of the whole profile.
 */
export function stageShares(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const micros = new Map();
  let busy = 0;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas?.[i + 1] ?? profile.timeDeltas?.[i] ?? 1;
    total += dt;
    const stage = stageOf(nodes.get(id).callFrame);
    if (!stage) return;
    busy += dt;
    micros.set(stage, (micros.get(stage) ?? 0) + dt);
  });
  return {
    busyShare: total ? busy / total : 0,
    busyMicros: busy,
    stages: STAGES.map((stage) => ({ stage, share: busy ? (micros.get(stage) ?? 0) / busy : 0 }))
      .filter((s) => s.share > 0),
  };
}

/**
 * Records a CPU profile of the process whose inspector is at `inspectorPort` while `during()` runs.
 * Resolves with {profile, result} (what `during` resolved with).
 */
export async function recordProfile(inspectorPort, during, { intervalMicros = 200 } = {}) {
  const { default: WebSocket } = await import("ws");
  const [target] = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let next = 0;
  const waiting = new Map();
  ws.on("message", (data) => {
    const message = JSON.parse(data);
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  const send = (method, params = {}) => new Promise((resolve) => {
    const id = ++next;
    waiting.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
  try {
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: intervalMicros });
    await send("Profiler.start");
    const result = await during();
    const { result: { profile } } = await send("Profiler.stop");
    return { profile, result };
  } finally {
    ws.close();
  }
}

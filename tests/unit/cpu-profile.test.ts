// bench/lib/cpu-profile.mjs: each sample of a V8 CPU profile put in the stage of the request path
// it belongs to, and the stages' shares of the busy (non-idle) time.
import { describe, expect, it } from "vitest";
// @ts-ignore plain ESM without types
import { STAGES, stageOf, stageShares } from "../../bench/lib/cpu-profile.mjs";

describe("stageOf: the stage of a call frame", () => {
  const cases: Array<[string, string, string | null]> = [
    ["", "(idle)", null],
    ["", "(garbage collector)", "garbage collection"],
    ["", "(program)", "other (V8, runtime)"],
    ["", "stringify", "JSON"],
    ["", "parse", "JSON"],
    ["", "verify", "crypto (signature, HMAC)"],
    ["ext:deno_node/internal/crypto/hash.ts", "Hmac", "crypto (signature, HMAC)"],
    ["", "writeBuffer", "Node compatibility (node:net sockets, Buffer, streams)"],
    ["", "op_http_set_response_body_text_with_headers", "Deno HTTP server, Request/Response, streams"],
    ["", "op_print", "logging"],
    ["", "op_node_create_hash", "crypto (signature, HMAC)"],
    ["", "op_encoding_decode_single", "JSON"],
    ["ext:deno_crypto/00_crypto.js", "sign", "crypto (signature, HMAC)"],
    ["file:///w/node_modules/.deno/jose@6.2.18/node_modules/jose/dist/webapi/lib/jws_verify.js", "verifySignature", "jose (token check)"],
    ["file:///w/node_modules/hono/dist/compose.js", "dispatch", "hono (routing, middleware, context)"],
    ["file:///w/node_modules/@hono/zod-openapi/dist/index.js", "x", "hono (routing, middleware, context)"],
    ["file:///w/node_modules/zod/v4/core/schemas.js", "x", "zod (validation)"],
    ["file:///w/node_modules/postgres/src/connection.js", "DataRow", "postgres.js (driver)"],
    ["ext:deno_node/internal/stream_base_commons.ts", "onStreamRead", "Node compatibility (node:net sockets, Buffer, streams)"],
    ["node:net", "x", "Node compatibility (node:net sockets, Buffer, streams)"],
    ["ext:deno_http/00_serve.ts", "nativeDispatch", "Deno HTTP server, Request/Response, streams"],
    ["ext:deno_console/01_console.js", "log", "logging"],
    ["file:///w/supabase/functions/_shared/db/postgres.ts", "rpc", "the functions' own code"],
    ["file:///w/local/stack/functions-server.ts", "", "the functions' own code"],
    ["file:///elsewhere/thing.js", "x", "other (V8, runtime)"],
  ];
  it.each(cases)("%s %s -> %s", (url, functionName, stage) => {
    expect(stageOf({ url, functionName })).toBe(stage);
  });
  it("names only known stages", () => {
    for (const [url, functionName] of cases) {
      const stage = stageOf({ url, functionName });
      if (stage !== null) expect(STAGES).toContain(stage);
    }
  });
});

describe("stageShares: self time per stage over the busy time", () => {
  const frame = (functionName: string, url = "") => ({ functionName, url, scriptId: "0", lineNumber: 0, columnNumber: 0 });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 3, 4] },
      { id: 2, callFrame: frame("(idle)") },
      { id: 3, callFrame: frame("DataRow", "file:///w/node_modules/postgres/src/connection.js") },
      { id: 4, callFrame: frame("stringify") },
    ],
    // idle 500 µs, postgres.js 300 µs, JSON 200 µs (each sample's time is the delta after it)
    samples: [2, 3, 4, 3, 2],
    timeDeltas: [0, 250, 150, 200, 150, 250],
  };
  it("weighs each sample by its time and leaves idle time out of the shares", () => {
    const { busyShare, busyMicros, stages } = stageShares(profile);
    expect(busyMicros).toBe(500);
    expect(busyShare).toBeCloseTo(0.5);
    expect(stages).toEqual([
      { stage: "JSON", share: 0.4 },
      { stage: "postgres.js (driver)", share: 0.6 },
    ]);
  });
});

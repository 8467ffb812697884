import { describe, expect, it } from "vitest";
import { createFunctionApp, limitBody, readRaw } from "../../supabase/functions/_shared/http.ts";

// A route as the functions declare theirs: hono's bodyLimit in front, then the body read once.
const app = createFunctionApp("limited", { cors: false });
app.post("/", limitBody(64), async (c) => c.json({ bytes: (await readRaw(c)).byteLength }));

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  app.fetch(new Request("http://x/limited", { method: "POST", body, headers, duplex: "half" } as RequestInit));

function streamOf(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(new Uint8Array(size));
      else controller.close();
    },
  });
}

describe("limitBody and readRaw", () => {
  const cases: Array<[string, () => Promise<Response>, number | "too large"]> = [
    ["reads a small body", () => post("hello"), 5],
    ["reads a body of exactly the limit", () => post("x".repeat(64)), 64],
    ["reads an empty body", () => post(null), 0],
    ["refuses a declared content-length above the limit", () => post("x", { "content-length": "65" }), "too large"],
    ["refuses a body above the limit", () => post("x".repeat(65)), "too large"],
    ["refuses a chunked stream that grows above the limit", () => post(streamOf(5, 20)), "too large"],
    ["reads a chunked stream under the limit", () => post(streamOf(3, 20)), 60],
  ];
  it.each(cases)("%s", async (_name, request, expected) => {
    const response = await request();
    if (expected === "too large") {
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({
        error: { code: "payload_too_large", message: "The request body is larger than 64 bytes." },
      });
    } else {
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ bytes: expected });
    }
  });

  it("stops reading a chunked body at the first chunk past the limit", async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(20));
      },
    });
    const response = await post(endless);
    expect(response.status).toBe(413);
    expect(pulled).toBeLessThan(10);
  });
});

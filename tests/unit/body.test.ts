import { describe, expect, it } from "vitest";
import { BodyTooLarge, readBodyLimited } from "../../supabase/functions/_shared/body.ts";

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request("http://x/", { method: "POST", body, headers, duplex: "half" } as RequestInit);

function streamOf(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(new Uint8Array(size));
      else controller.close();
    },
  });
}

describe("readBodyLimited", () => {
  const cases: Array<[string, () => Request, number | "too large"]> = [
    ["reads a small body", () => post("hello"), 5],
    ["reads a body of exactly the limit", () => post("x".repeat(64)), 64],
    ["reads an empty body", () => post(null), 0],
    ["refuses a declared content-length above the limit", () => post("x", { "content-length": "65" }), "too large"],
    ["refuses a body above the limit", () => post("x".repeat(65)), "too large"],
    ["refuses a chunked stream that grows above the limit", () => post(streamOf(5, 20)), "too large"],
    ["reads a chunked stream under the limit", () => post(streamOf(3, 20)), 60],
  ];
  it.each(cases)("%s", async (_name, request, expected) => {
    const result = readBodyLimited(request(), 64);
    if (expected === "too large") await expect(result).rejects.toBeInstanceOf(BodyTooLarge);
    else expect((await result).byteLength).toBe(expected);
  });
});

// The local Realtime server's wire format (local/stack/realtime/protocol.mjs) against what
// realtime-js sends and decodes: its own serializer encodes the binary broadcast pushes we decode,
// and decodes the binary broadcasts we encode.
import { describe, expect, it } from "vitest";
// @ts-expect-error: the serializer realtime-js uses for vsn 2.0.0
import Serializer from "@supabase/realtime-js/dist/main/lib/serializer.js";
import {
  decodeFrame,
  encodeMessage,
  encodeReply,
  encodeUserBroadcast,
  joinTokenReason,
  parseJoinConfig,
  ProtocolError,
  socketVsn,
  // @ts-expect-error: plain ESM modules of the local stack
} from "../../../local/stack/realtime/protocol.mjs";

const serializer = new (Serializer.default ?? Serializer)();
const clientEncode = (msg: object) => serializer.encode(msg, (x: unknown) => x);
const clientDecode = (raw: unknown) => serializer.decode(raw, (x: unknown) => x);
const toArrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);

describe("decodeFrame", () => {
  const cases: [string, string, unknown, object][] = [
    ["a 2.0.0 join array", "2.0.0", JSON.stringify(["1", "1", "realtime:x", "phx_join", { config: {} }]),
      { joinRef: "1", ref: "1", topic: "realtime:x", event: "phx_join", payload: { config: {} } }],
    ["a 2.0.0 heartbeat without join_ref", "2.0.0", JSON.stringify([null, "7", "phoenix", "heartbeat", {}]),
      { joinRef: null, ref: "7", topic: "phoenix", event: "heartbeat", payload: {} }],
    ["a 1.0.0 object", "1.0.0", JSON.stringify({ topic: "realtime:x", event: "broadcast", payload: { a: 1 }, ref: 3, join_ref: "2" }),
      { joinRef: "2", ref: "3", topic: "realtime:x", event: "broadcast", payload: { a: 1 } }],
    ["a 1.0.0 object with a null payload", "1.0.0", JSON.stringify({ topic: "t", event: "e", payload: null, ref: null }),
      { joinRef: null, ref: null, topic: "t", event: "e", payload: {} }],
  ];
  it.each(cases)("%s", (_name, vsn, data, expected) => {
    expect(decodeFrame(vsn, data, false)).toEqual(expected);
  });

  const bad: [string, string, unknown, boolean][] = [
    ["not JSON", "2.0.0", "nope", false],
    ["an object for 2.0.0", "2.0.0", JSON.stringify({ topic: "t" }), false],
    ["an array for 1.0.0", "1.0.0", JSON.stringify(["1", "1", "t", "e", {}]), false],
    ["a topic that is not a string", "2.0.0", JSON.stringify([null, null, 1, "e", {}]), false],
    ["binary on 1.0.0", "1.0.0", Buffer.from([3, 0, 0, 0, 0, 0, 1]), true],
    ["an unknown binary kind", "2.0.0", Buffer.from([9, 0, 0, 0, 0, 0, 1]), true],
    ["a truncated binary frame", "2.0.0", Buffer.from([3, 5, 0, 0, 0, 0, 1, 65]), true],
  ];
  it.each(bad)("refuses %s", (_name, vsn, data, isBinary) => {
    expect(() => decodeFrame(vsn, data, isBinary)).toThrow(ProtocolError);
  });

  it("decodes realtime-js's binary user broadcast push (JSON payload)", () => {
    const raw = clientEncode({
      join_ref: "4", ref: "9", topic: "realtime:room", event: "broadcast",
      payload: { type: "broadcast", event: "typing", payload: { who: "alice" } },
    });
    const frame = decodeFrame("2.0.0", Buffer.from(raw), true);
    expect(frame).toMatchObject({ joinRef: "4", ref: "9", topic: "realtime:room", event: "broadcast" });
    expect(frame.userBroadcast.event).toBe("typing");
    expect(frame.userBroadcast.encoding).toBe("json");
    expect(JSON.parse(frame.userBroadcast.payload.toString())).toEqual({ who: "alice" });
  });
});

describe("encoding", () => {
  it("writes 2.0.0 arrays and 1.0.0 objects", () => {
    const msg = { joinRef: "1", ref: null, topic: "realtime:x", event: "system", payload: { a: 1 } };
    expect(JSON.parse(encodeMessage("2.0.0", msg))).toEqual(["1", null, "realtime:x", "system", { a: 1 }]);
    expect(JSON.parse(encodeMessage("1.0.0", msg))).toEqual({
      topic: "realtime:x", event: "system", payload: { a: 1 }, ref: null, join_ref: "1",
    });
  });

  it("replies to a frame with its refs", () => {
    const to = { joinRef: "3", ref: "5", topic: "realtime:x" };
    expect(JSON.parse(encodeReply("2.0.0", to, "error", { reason: "no" }))).toEqual([
      "3", "5", "realtime:x", "phx_reply", { status: "error", response: { reason: "no" } },
    ]);
  });

  const broadcast = { event: "note", encoding: "json", payload: Buffer.from('{"text":"hi"}'), metadata: { id: "m1" } };

  it("writes a 2.0.0 user broadcast that realtime-js decodes, meta included", () => {
    const frame = encodeUserBroadcast("2.0.0", "realtime:room", broadcast);
    expect(clientDecode(toArrayBuffer(frame))).toEqual({
      join_ref: null, ref: null, topic: "realtime:room", event: "broadcast",
      payload: { type: "broadcast", event: "note", payload: { text: "hi" }, meta: { id: "m1" } },
    });
  });

  it("writes a 1.0.0 user broadcast as JSON, and none for a binary payload", () => {
    expect(JSON.parse(encodeUserBroadcast("1.0.0", "realtime:room", broadcast))).toEqual({
      topic: "realtime:room", event: "broadcast", ref: null, join_ref: null,
      payload: { type: "broadcast", event: "note", payload: { text: "hi" }, meta: { id: "m1" } },
    });
    expect(encodeUserBroadcast("1.0.0", "realtime:room", { ...broadcast, encoding: "binary" })).toBeNull();
  });
});

describe("parseJoinConfig", () => {
  const cases: [string, unknown, object][] = [
    ["no config: hosted's defaults", {}, { self: false, ack: false, presenceEnabled: false, presenceKey: null, private: false, postgresChanges: [] }],
    ["realtime-js's full config", {
      config: { broadcast: { self: true, ack: true }, presence: { key: "k", enabled: true }, private: true,
        postgres_changes: [{ event: "*", schema: "public" }] },
      access_token: "t",
    }, { self: true, ack: true, presenceEnabled: true, presenceKey: "k", private: true, postgresChanges: [{ event: "*", schema: "public" }] }],
    ["string booleans, an empty presence key", { config: { broadcast: { self: "true" }, presence: { key: "" }, private: "false" } },
      { self: true, presenceKey: null, private: false }],
  ];
  it.each(cases)("%s", (_name, payload, expected) => {
    expect(parseJoinConfig(payload)).toMatchObject(expected);
  });
});

describe("socketVsn and join refusals", () => {
  it.each([["2.0.0", "2.0.0"], ["1.0.0", "1.0.0"], [null, "1.0.0"], ["3.0.0", null]])("vsn %s → %s", (given, expected) => {
    const params = new URLSearchParams(given ? { vsn: given } : {});
    expect(socketVsn(params)).toBe(expected);
  });

  it.each([
    ["expired", "Token has expired 3 seconds ago", "InvalidJWTToken: Token has expired 3 seconds ago"],
    ["signature", "Failed to validate JWT signature", "JwtSignatureError: Failed to validate JWT signature"],
    ["malformed", "The token provided is not a valid JWT", "MalformedJWT: The token provided is not a valid JWT"],
  ])("a %s token's reason", (code, message, reason) => {
    expect(joinTokenReason({ code, message })).toBe(reason);
  });
});

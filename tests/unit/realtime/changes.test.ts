// postgres_changes of the local Realtime server (local/stack/realtime/changes.mjs): filters with
// hosted's operators, which changes a subscription matches, and the payload realtime-js reads.
import { describe, expect, it } from "vitest";
import {
  changePayload,
  commitTimestamp,
  matchesSubscription,
  parseFilter,
  parseSubscription,
  passesFilter,
  SubscriptionError,
  walChange,
  // @ts-expect-error: plain ESM modules of the local stack
} from "../../../local/stack/realtime/changes.mjs";

describe("filters", () => {
  const cases: [string, unknown, boolean][] = [
    ["chat_id=eq.abc", "abc", true],
    ["chat_id=eq.abc", "abd", false],
    ["n=eq.5", 5, true],
    ["n=neq.5", 5, false],
    ["n=lt.10", 9, true],
    ["n=lt.10", 10, false],
    ["n=lte.10", 10, true],
    ["n=gt.2", 10, true], // numbers compare as numbers, not text
    ["n=gte.11", 10, false],
    ["status=in.(open,waiting)", "waiting", true],
    ["status=in.(open,waiting)", "closed", false],
    ["n=in.(1,2)", 2, true],
    ["flag=eq.true", true, true],
    ["x=eq.a", null, false],
  ];
  it.each(cases)("%s with %j → %s", (filter, value, expected) => {
    expect(passesFilter(parseFilter(filter), value)).toBe(expected);
  });

  it.each(["nope", "col=like.a", "col=in.a,b"])("refuses %s", (filter) => {
    expect(() => parseFilter(filter)).toThrow(SubscriptionError);
  });

  it("parses a subscription with hosted's defaults", () => {
    expect(parseSubscription({ event: "insert", schema: "public" })).toEqual({
      event: "INSERT", schema: "public", table: "*", filter: null,
    });
    expect(() => parseSubscription({ event: "TRUNCATE" })).toThrow(SubscriptionError);
  });
});

const insert = {
  action: "I",
  timestamp: "2026-12-07 00:47:51.638324+00",
  schema: "public",
  table: "messages",
  columns: [
    { name: "id", type: "uuid", value: "m1" },
    { name: "chat_id", type: "uuid", value: "c1" },
    { name: "content", type: "text", value: "hi" },
  ],
  pk: [{ name: "id", type: "uuid", typeoid: 2950 }],
};
const del = {
  action: "D", timestamp: insert.timestamp, schema: "public", table: "messages",
  identity: [{ name: "id", type: "uuid", value: "m1" }], pk: insert.pk,
};

describe("changes", () => {
  it("reads a wal2json insert and delete", () => {
    expect(walChange(insert)).toMatchObject({
      type: "INSERT", record: { id: "m1", chat_id: "c1", content: "hi" }, pk: [{ name: "id", type: "uuid" }], pkValues: ["m1"],
    });
    expect(walChange(del)).toMatchObject({ type: "DELETE", oldRecord: { id: "m1" }, pkValues: ["m1"] });
    expect(walChange({ action: "T" })).toBeNull();
  });

  const cases: [string, object, object, boolean][] = [
    ["any event of the table", { event: "*", schema: "public", table: "messages" }, insert, true],
    ["another event", { event: "UPDATE", schema: "public", table: "messages" }, insert, false],
    ["another table", { event: "*", schema: "public", table: "chats" }, insert, false],
    ["every table of the schema", { event: "INSERT", schema: "public" }, insert, true],
    ["a passing filter", { event: "*", schema: "public", table: "messages", filter: "chat_id=eq.c1" }, insert, true],
    ["a failing filter", { event: "*", schema: "public", table: "messages", filter: "chat_id=eq.c2" }, insert, false],
    ["a delete without the filtered column", { event: "*", schema: "public", table: "messages", filter: "chat_id=eq.c2" }, del, true],
    ["a delete failing a filter on its key", { event: "*", schema: "public", table: "messages", filter: "id=eq.m2" }, del, false],
  ];
  it.each(cases)("%s", (_name, params, raw, expected) => {
    expect(matchesSubscription(parseSubscription(params), walChange(raw))).toBe(expected);
  });

  it("builds the payload with only the columns the subscriber may select", () => {
    const columns = [{ name: "id", type: "uuid" }, { name: "content", type: "text" }];
    expect(changePayload(walChange(insert), columns)).toEqual({
      schema: "public", table: "messages", commit_timestamp: "2026-12-07T00:47:51.638Z", type: "INSERT",
      columns, errors: null, record: { id: "m1", content: "hi" },
    });
    expect(changePayload(walChange(del), columns)).toMatchObject({ type: "DELETE", old_record: { id: "m1" } });
    expect(changePayload(walChange(del), columns)).not.toHaveProperty("record");
  });

  it.each([
    ["2026-12-07 00:47:51.638324+00", "2026-12-07T00:47:51.638Z"],
    ["2026-12-07 02:47:51+02", "2026-12-07T00:47:51.000Z"],
  ])("commit timestamp %s → %s", (given, expected) => {
    expect(commitTimestamp(given)).toBe(expected);
  });
});

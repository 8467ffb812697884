// Presence of the local Realtime server (local/stack/realtime/presence.mjs) in Phoenix.Presence's
// shapes: state, joins and leaves, an update replacing the channel's meta.
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM modules of the local stack
import { PresenceRegistry } from "../../../local/stack/realtime/presence.mjs";

describe("PresenceRegistry", () => {
  it("tracks, groups metas by key, updates and untracks", () => {
    const presence = new PresenceRegistry();
    const first = presence.track("public:room", "alice", "c1", { status: "online" });
    expect(first.leaves).toEqual({});
    expect(first.joins.alice.metas[0]).toMatchObject({ status: "online", phx_ref: expect.any(String) });

    presence.track("public:room", "alice", "c2", { status: "away" }); // a second tab, same key
    expect(presence.state("public:room").alice.metas.map((m: { status: string }) => m.status)).toEqual(["online", "away"]);

    const update = presence.track("public:room", "alice", "c1", { status: "typing" });
    expect(update.joins.alice.metas[0]).toMatchObject({ status: "typing", phx_ref_prev: first.joins.alice.metas[0].phx_ref });
    expect(update.leaves.alice.metas[0]).toEqual(first.joins.alice.metas[0]);

    expect(presence.untrack("public:room", "alice", "c1")).toEqual({
      joins: {},
      leaves: { alice: { metas: [update.joins.alice.metas[0]] } },
    });
    expect(presence.untrack("public:room", "alice", "c1")).toBeNull();
    presence.untrack("public:room", "alice", "c2");
    expect(presence.state("public:room")).toEqual({});
  });

  it("keeps topics apart (a public and a private channel of one name are two topics)", () => {
    const presence = new PresenceRegistry();
    presence.track("public:x", "k", "c1", {});
    expect(presence.state("private:x")).toEqual({});
  });
});

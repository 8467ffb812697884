// Presence of the local Realtime server, in Phoenix.Presence's shapes as realtime-js reads them:
// the state is {<key>: {metas: [{phx_ref, ...payload}]}}, a change is a presence_diff
// {joins: {...}, leaves: {...}} in the same shape, and a second track from the same channel
// replaces its meta (the new one carries phx_ref_prev, the old one leaves). One node, so the
// state lives in memory; a channel's metas go when it leaves or its socket closes.
import { randomBytes } from "node:crypto";

const newRef = () => randomBytes(9).toString("base64");

export class PresenceRegistry {
  constructor() {
    /** topic → Map(presence key → Map(channel id → meta)) */
    this.topics = new Map();
  }

  /** Tracks (or updates) the channel's presence; returns the presence_diff to broadcast. */
  track(topic, key, channelId, payload) {
    const byKey = this.topics.get(topic) ?? new Map();
    this.topics.set(topic, byKey);
    const byChannel = byKey.get(key) ?? new Map();
    byKey.set(key, byChannel);
    const previous = byChannel.get(channelId);
    const meta = { ...payload, phx_ref: newRef() };
    if (previous) meta.phx_ref_prev = previous.phx_ref;
    byChannel.set(channelId, meta);
    return { joins: { [key]: { metas: [meta] } }, leaves: previous ? { [key]: { metas: [previous] } } : {} };
  }

  /** Removes the channel's presence; returns the presence_diff, or null when it had none. */
  untrack(topic, key, channelId) {
    const byChannel = this.topics.get(topic)?.get(key);
    const previous = byChannel?.get(channelId);
    if (!previous) return null;
    byChannel.delete(channelId);
    if (byChannel.size === 0) this.topics.get(topic).delete(key);
    if (this.topics.get(topic).size === 0) this.topics.delete(topic);
    return { joins: {}, leaves: { [key]: { metas: [previous] } } };
  }

  /** The topic's presence_state. */
  state(topic) {
    const state = {};
    for (const [key, byChannel] of this.topics.get(topic) ?? []) state[key] = { metas: [...byChannel.values()] };
    return state;
  }
}

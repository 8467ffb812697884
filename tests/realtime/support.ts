// What the Realtime suites share: supabase-js clients speaking a given protocol version to the
// local Realtime server (through the gateway, as a browser would), and small waits that fail with
// a message naming what never arrived.
import { createClient, type RealtimeChannel, type SupabaseClient } from "@supabase/supabase-js";
import { accessToken, stack } from "../support/stack.ts";

export type Vsn = "1.0.0" | "2.0.0";

const clients: SupabaseClient[] = [];

/**
 * supabase-js with the publishable key, its Realtime speaking `vsn`; signed in as `userId` (its
 * access token given to Realtime with setAuth, as an app with its own session does) or anonymous.
 */
export function realtimeClient(vsn: Vsn, userId?: string, token?: string): SupabaseClient {
  const client = createClient(stack.apiUrl, stack.publishableKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { vsn, timeout: 5000, heartbeatIntervalMs: 5000 },
  });
  if (userId || token) void client.realtime.setAuth(token ?? accessToken(userId!));
  clients.push(client);
  return client;
}

/** Disconnects every client made so far. */
export async function closeClients(): Promise<void> {
  for (const client of clients.splice(0)) {
    await client.removeAllChannels().catch(() => {});
    await client.realtime.disconnect().catch(() => {});
  }
}

/** Subscribes; resolves once SUBSCRIBED, rejects with the error of CHANNEL_ERROR or on time-out. */
export function subscribed(channel: RealtimeChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.subscribe((status, error) => {
      if (status === "SUBSCRIBED") resolve();
      else if (status === "CHANNEL_ERROR") reject(error ?? new Error("CHANNEL_ERROR"));
      else if (status === "TIMED_OUT") reject(new Error("TIMED_OUT"));
    });
  });
}

/** Subscribes expecting a refusal; resolves with the join's error message. */
export function refused(channel: RealtimeChannel): Promise<string> {
  return new Promise((resolve, reject) => {
    channel.subscribe((status, error) => {
      if (status === "CHANNEL_ERROR") resolve(error?.message ?? "");
      else if (status === "SUBSCRIBED") reject(new Error(`${channel.topic} was joined, expected a refusal`));
      else if (status === "TIMED_OUT") reject(new Error("TIMED_OUT"));
    });
  });
}

/** Resolves with check()'s first truthy value; fails naming `what` after `ms`. */
export async function until<T>(check: () => T | undefined | null | false, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Every message the client's socket hands realtime-js after decoding (replies, broadcasts, presence
 * state and diffs, system messages), in order: what a test can search for anything that should
 * never have reached this client.
 */
export function recordFrames(client: SupabaseClient): unknown[] {
  const frames: unknown[] = [];
  const realtime = client.realtime as unknown as { socketAdapter: { onMessage(cb: (message: unknown) => void): void } };
  realtime.socketAdapter.onMessage((message) => frames.push(message));
  return frames;
}

/** JSON of anything a client received, binary payloads as their text. */
export function serialise(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v instanceof ArrayBuffer) return new TextDecoder().decode(v);
    if (ArrayBuffer.isView(v)) return new TextDecoder().decode(v as Uint8Array);
    return v;
  });
}

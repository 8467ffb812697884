// The browser as a client of the stack (SPEC 14): Debian's chromium, headless, driven through
// puppeteer-core, opens a page served from its own origin (so every call is cross-origin, through
// CORS) that uses supabase-js's browser build to sign in, list profiles, start a chat, send a
// message and receive the operator's reply over Realtime on the chat's private channel. The
// operator's side runs here in Node, with supabase-js as the operator console would. The page is
// tests/browser/page/; what arrived is read from its window.chat.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumPath } from "../../local/stack/prerequisites.mjs";
import { closeDb, db, stack } from "../support/stack.ts";

// Seeded users (supabase/seed.sql), all with the seed's password.
const PASSWORD = "password123";
const ALICE = { email: "alice@example.com", id: "11111111-1111-4111-8111-111111111111" };
const BRIAN = { email: "brian@example.com", id: "22222222-2222-4222-8222-222222222222" };
const OLIVIA = { email: "olivia@fantooo.local", id: "33333333-3333-4333-8333-333333333333" };
const ADMIN = { email: "admin@fantooo.local", id: "55555555-5555-4555-8555-555555555555" };

const WAIT_MS = 10_000;
const run = Date.now().toString(36); // tells this run's messages apart on a reused stack

type Broadcast = { event: string; payload: Record<string, unknown> };
type ChatPage = {
  received: Broadcast[];
  statuses: { status: string; error: string | null }[];
  signIn(email: string, password: string): Promise<string>;
  profiles(): Promise<{ id: string; name: string }[]>;
  startChat(profileId: string): Promise<string>;
  send(chatId: string, content: string): Promise<{ id: string }>;
  history(chatId: string): Promise<{ id: string }[]>;
  join(chatId: string): Promise<void>;
};
declare global {
  interface Window {
    chat: ChatPage;
  }
}

/** What the browser reported that a page should never cause: errors in the console, failed requests. */
type Trouble = { consoleErrors: string[]; failedRequests: string[] };

let browser: Browser;
let server: Server;
let pageUrl: string;
let operator: SupabaseClient; // Olivia's console
let admin: SupabaseClient;

/** Serves the page and supabase-js's UMD bundle from node_modules, on a free port. */
function servePage(): Promise<Server> {
  const require = createRequire(import.meta.url);
  const files: Record<string, [string, string]> = {
    "/": [join(import.meta.dirname, "page", "index.html"), "text/html"],
    "/chat.js": [join(import.meta.dirname, "page", "chat.js"), "text/javascript"],
    "/supabase.js": [require.resolve("@supabase/supabase-js/dist/umd/supabase.js"), "text/javascript"],
  };
  const httpServer = createServer((req, res) => {
    const file = files[new URL(req.url ?? "/", "http://page").pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": `${file[1]}; charset=utf-8` }).end(readFileSync(file[0]));
  });
  return new Promise((resolve) => httpServer.listen(0, "127.0.0.1", () => resolve(httpServer)));
}

/** supabase-js in Node, signed in with the seeded password, as a staff console would be. */
async function signedIn(email: string): Promise<SupabaseClient> {
  const client = createClient(stack.apiUrl, stack.publishableKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const { error } = await client.auth.signInWithPassword({ email, password: PASSWORD });
  if (error) throw new Error(`sign-in of ${email} failed: ${error.message}`);
  return client;
}

/** A fresh browser profile (its own storage, as another person's browser) on the page. */
async function openPage(): Promise<{ page: Page; trouble: Trouble }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const trouble: Trouble = { consoleErrors: [], failedRequests: [] };
  page.on("console", (message) => {
    if (message.type() === "error") trouble.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => trouble.consoleErrors.push(String(error)));
  page.on("requestfailed", (request) => {
    trouble.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  const query = new URLSearchParams({ api: stack.apiUrl, key: stack.publishableKey });
  await page.goto(`${pageUrl}/?${query}`);
  return { page, trouble };
}

/** Waits until the page has received the message `id` on its channel, and returns that broadcast. */
async function arrival(page: Page, id: string): Promise<Broadcast> {
  try {
    await page.waitForFunction(
      (messageId) => window.chat.received.some((m) => m.payload.id === messageId),
      { timeout: WAIT_MS },
      id,
    );
  } catch (error) {
    const state = await page.evaluate(() => ({ statuses: window.chat.statuses, received: window.chat.received }));
    throw new Error(`message ${id} never reached the page: ${JSON.stringify(state)}`, { cause: error });
  }
  return page.evaluate((messageId) => window.chat.received.find((m) => m.payload.id === messageId)!, id);
}

/** The operator's reply in the chat, written as its console writes it. */
async function reply(chatId: string, content: string): Promise<{ id: string }> {
  const { data, error } = await operator
    .from("messages")
    .insert({ chat_id: chatId, sender_type: "fictional", content })
    .select("id")
    .single();
  if (error) throw new Error(`the operator's reply was refused: ${error.code} ${error.message}`);
  return data;
}

beforeAll(async () => {
  const executablePath = chromiumPath();
  if (!executablePath) {
    throw new Error(
      "no headless browser: the browser tests drive Debian's `chromium` package, which is not installed " +
        "(no /usr/bin/chromium). `npm test` installs it with apt-get; else `sudo apt-get install chromium`, " +
        "or point CHROMIUM_PATH at a Chromium binary.",
    );
  }
  // Flags for root in a container: no sandbox (it needs user namespaces), no /dev/shm (often 64 MB).
  browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--headless=new", "--disable-dev-shm-usage"],
  });
  server = await servePage();
  pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  [operator, admin] = await Promise.all([signedIn(OLIVIA.email), signedIn(ADMIN.email)]);
});

let chatId: string | undefined;
let alice: { page: Page; trouble: Trouble } | undefined;

afterAll(async () => {
  // Olivia gives the chat back (answered, it goes idle), so the stack is left as a console would.
  if (chatId && operator) {
    await operator.functions.invoke("assign-chat/release", { body: { chat_id: chatId, reason: "completed" } });
  }
  await browser?.close();
  await closeDb();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

describe("a browser on the local stack", () => {
  it("signs in, lists profiles, sends a message and receives the operator's reply over Realtime", async () => {
    alice = await openPage();
    const { page, trouble } = alice;

    expect(await page.evaluate((email, password) => window.chat.signIn(email, password), ALICE.email, PASSWORD))
      .toBe(ALICE.id);
    const profiles = await page.evaluate(() => window.chat.profiles());
    expect(profiles.length).toBeGreaterThan(0);
    chatId = await page.evaluate((profileId) => window.chat.startChat(profileId), profiles[0].id);
    expect(chatId).toMatch(/^[0-9a-f-]{36}$/);

    await page.evaluate((id) => window.chat.join(id), chatId);
    await page.waitForFunction(
      () => window.chat.statuses.some((s) => s.status === "SUBSCRIBED"),
      { timeout: WAIT_MS },
    ).catch(async (error) => {
      throw new Error(`the join was not accepted: ${JSON.stringify(await page.evaluate(() => window.chat.statuses))}`, {
        cause: error,
      });
    });

    // Her own message comes back on the channel, as the row she may read.
    const sent = await page.evaluate((id, text) => window.chat.send(id, text), chatId, `Hello from the browser ${run}`);
    expect((await arrival(page, sent.id)).payload).toMatchObject({
      chat_id: chatId,
      sender_type: "real",
      content: `Hello from the browser ${run}`,
    });

    // The chat waits for an answer; an admin hands it to Olivia (assign-chat would give her the
    // oldest waiting chat of all, which may be another's), who says she is there first (the idle
    // sweep sets silent operators offline).
    const presence = await operator.from("operators").update({ status: "available" }).eq("id", OLIVIA.id);
    expect(presence.error).toBeNull();
    const handed = await admin.rpc("admin_reassign_chat", { p_chat_id: chatId, p_operator_id: OLIVIA.id });
    expect(handed.error, `admin_reassign_chat: ${handed.error?.message}`).toBeNull();

    const answer = await reply(chatId, `Hi from the operator ${run}`);
    const received = await arrival(page, answer.id);
    expect(received.event).toBe("message_created");
    // The row as the user reads it: nothing in it names the operator.
    expect(received.payload).toEqual({
      id: answer.id,
      chat_id: chatId,
      sender_type: "fictional",
      content: `Hi from the operator ${run}`,
      credits_charged: expect.any(Number),
      created_at: expect.any(String),
    });
    expect(await page.$eval(`li[data-id="${answer.id}"]`, (item) => item.textContent))
      .toBe(`fictional: Hi from the operator ${run}`);
    // What the database wrote (realtime.send) is what arrived.
    const { rows } = await db().query(
      "select topic, event, private, payload from realtime.messages where payload->>'id' = $1",
      [answer.id],
    );
    expect(rows).toEqual([{ topic: `chat:${chatId}`, event: "message_created", private: true, payload: received.payload }]);

    expect(trouble).toEqual({ consoleErrors: [], failedRequests: [] });
  }, 20_000);

  it("refuses another user's join of the chat's channel, and sends that user nothing", async () => {
    expect(chatId, "the first test started the chat").toBeDefined();
    const { page, trouble } = await openPage();
    expect(await page.evaluate((email, password) => window.chat.signIn(email, password), BRIAN.email, PASSWORD))
      .toBe(BRIAN.id);
    // RLS hides the chat's messages from him ...
    expect(await page.evaluate((id) => window.chat.history(id), chatId!)).toEqual([]);

    // ... and the policies on realtime.messages refuse him its channel: the server's refusal, not a
    // transport failure, is what the subscribe callback reports.
    await page.evaluate((id) => window.chat.join(id), chatId!);
    await page.waitForFunction(
      () => window.chat.statuses.some((s) => s.status === "CHANNEL_ERROR" && /unauthori[sz]ed|permission/i.test(s.error ?? "")),
      { timeout: WAIT_MS },
    ).catch(async (error) => {
      throw new Error(`the join was not refused: ${JSON.stringify(await page.evaluate(() => window.chat.statuses))}`, {
        cause: error,
      });
    });
    expect((await page.evaluate(() => window.chat.statuses)).map((s) => s.status)).not.toContain("SUBSCRIBED");

    // Olivia replies again: Alice's page gets it (so it was broadcast), Brian's gets nothing.
    const answer = await reply(chatId!, `Only for Alice ${run}`);
    await arrival(alice!.page, answer.id);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await page.evaluate(() => window.chat.received)).toEqual([]);
    expect(await page.$$("#messages li")).toHaveLength(0);

    // No CORS failure on his side either (the refusal is Realtime's, not the browser's).
    expect(trouble.failedRequests).toEqual([]);
    expect(trouble.consoleErrors.filter((text) => /CORS|Access-Control/i.test(text))).toEqual([]);
    expect(alice!.trouble).toEqual({ consoleErrors: [], failedRequests: [] });
  }, 20_000);
});

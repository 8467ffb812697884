// `npm run simulate`: a compressed day of the platform against a running stack, through the
// surfaces a client uses, then a summary and the spec's invariants computed from the database.
//
// Real users sign up at /auth/v1 (supabase-js), insert their own real_users row, discover profiles
// (get_available_fictional_profiles), favourite some, start chats and write (Data API inserts:
// PT402 insufficient_credits once the free messages and their credits are gone); some buy credits
// through credits-checkout and the fake Paystack's checkout page, whose signed charge.success
// reaches the webhook. Operators (made with the secret key, signed in with their password) go
// available, pull chats through assign-chat, answer and release; one goes silent and the idle
// sweep takes its chats back; one keeps dropping offline until a chat is reassigned three times
// and flagged; an admin clears the flag. The day is compressed by lowering settings.idle_timeout
// to a few seconds and running the idle-sweeper cron job's own command
// (`select private.invoke_idle_sweeper()`, delivered by pg_net) every second or so; the setting is
// put back at the end.
//
// Safe on a shared stack: the run makes its own users, operators, admin and profiles (names carry
// a run id); chats of others that its operators are handed (the queue serves the oldest waiting
// chat of all) are held untouched, kept alive by heartbeats and handed back at the end with the
// reassignment count and flag they had (the run's assignments of them deleted); every chat of the
// run is closed by its user at the end; the run's profiles are deactivated. The summary and the
// invariants look at the run's rows (`--all`: the structural invariants over the whole database).
//
// runSimulation({ env, scale, log }) is what `npm test` calls on its throwaway stack; `env` has
// the names of `supabase status -o env`.
import { randomBytes } from "node:crypto";
import { createClient } from "@supabase/supabase-js";
import pg from "pg";
import { findAdjustments, INVARIANTS, LEFT_OPEN, ledgerSql, scopedQuery, SUMMARY } from "./simulate/checks.mjs";
import {
  activityAt,
  clockLabel,
  formatSeconds,
  formatTable,
  parseSimulateArgs,
  percentile,
  SCALES,
  seededRandom,
} from "./simulate/format.mjs";

const SUCCESS_CARD = "4084 0840 8408 4081";
const DECLINED_CARD = "4084 0800 0000 5408";
const PASSWORD = "sim-password-123";
const PROFILE_NAMES = {
  female: ["Amani", "Wanjiru", "Zawadi", "Nia", "Imani", "Achieng"],
  male: ["Jabari", "Kofi", "Baraka", "Tariq", "Juma", "Otieno"],
};
const LINES = [
  "Hi there!", "How was your day?", "What are you up to tonight?", "Tell me more about that.",
  "Haha, really?", "I love that place too.", "What music do you like?", "Coffee or tea?",
];
const REPLIES = [
  "Hey! Lovely to hear from you.", "Busy but good, and yours?", "Oh, that is a long story…",
  "Ha, you made me smile.", "Tell me about your weekend.", "Chai, always chai.",
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const clientOptions = { auth: { persistSession: false, autoRefreshToken: false } };

class SimulationError extends Error {}

/**
 * Runs the simulation. Resolves with `{ ok, summary, invariants, durationMs }`: `summary` the
 * [figure, value] rows printed, `invariants` one {name, ok, count, during, error?} per invariant.
 * `signal` (an AbortSignal) ends the day early; the run still tidies up and checks.
 */
export async function runSimulation({ env, scale = "day", log = console.log, seed, scope = "run", signal } = {}) {
  const plan = SCALES[scale];
  if (!plan) throw new SimulationError(`unknown scale ${scale}: use day or small`);
  const startedAt = Date.now();
  const sim = new Simulation({ env, plan, log, seed: seed ?? randomBytes(4).readUInt32LE(0), signal });
  log(`simulate: ${scale} run ${sim.runId} (seed ${sim.seed}) against ${sim.apiUrl}: ${plan.users} users, ` +
    `${plan.operators} operators, ${plan.ticks} ticks of ${plan.minutesPerTick} simulated minutes`);
  let failure = null;
  try {
    await sim.setUp();
    await sim.runDay();
  } catch (error) {
    failure = error;
    log(`simulate: the run stopped: ${error.message}`);
  }
  try {
    await sim.tearDown();
    const { summary, invariants } = await sim.check(scope);
    const durationMs = Date.now() - startedAt;
    summary.push(["duration (real time)", formatSeconds(durationMs / 1000)]);
    log("");
    log(formatTable(["figure", "value"], summary));
    log("");
    log(formatTable(
      ["invariant", "result", "offending rows", "during the run"],
      invariants.map((i) => [i.name, i.ok ? "pass" : i.error ? `error: ${i.error}` : "FAIL", i.count, i.during ?? "-"]),
    ));
    const ok = failure === null && invariants.every((i) => i.ok);
    log(`\nsimulate: ${ok ? "every invariant holds" : failure ? "the run failed" : "an invariant is broken"} ` +
      `(${formatSeconds(durationMs / 1000)})`);
    return { ok, summary, invariants, durationMs, error: failure?.message };
  } finally {
    await sim.close();
  }
}

class Simulation {
  constructor({ env, plan, log, seed, signal }) {
    this.env = env;
    this.plan = plan;
    this.log = log;
    this.seed = seed;
    this.signal = signal;
    this.rng = seededRandom(seed);
    this.runId = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
    this.apiUrl = env.API_URL;
    this.functionsUrl = env.FUNCTIONS_URL ?? `${env.API_URL}/functions/v1`;
    this.publishableKey = env.PUBLISHABLE_KEY ?? env.ANON_KEY;
    this.secretKey = env.SECRET_KEY ?? env.SERVICE_ROLE_KEY;
    for (const [name, value] of Object.entries({
      API_URL: this.apiUrl, DB_URL: env.DB_URL, "PUBLISHABLE_KEY or ANON_KEY": this.publishableKey,
      "SECRET_KEY or SERVICE_ROLE_KEY": this.secretKey,
    })) if (!value) throw new SimulationError(`the stack's ${name} is missing`);
    this.db = new pg.Pool({ connectionString: env.DB_URL, max: 4 });
    this.db.on("error", () => {}); // a dropped idle connection is replaced on the next query
    this.service = createClient(this.apiUrl, this.secretKey, clientOptions);
    this.users = [];
    this.operators = [];
    this.profiles = [];
    this.packages = [];
    this.admin = null;
    this.foreignHeld = new Map(); // chat id -> holding operator: others' chats the queue handed us
    this.foreignBefore = new Map(); // chat id -> its reassignment_count and flag when handed to us
    this.counts = { refusals402: 0, sweeps: 0, sweepErrors: 0, purchases: 0, flagsCleared: 0 };
    this.latencies = { "assign-chat": [], "message insert": [], checkout: [] };
    this.during = new Map(); // invariant name -> worst count seen during the run
    this.timers = [];
    this.originalIdleTimeout = null;
    this.clearFlagRpc = false;
    this.clearedAt = new Map(); // chat id -> reassignment_count when the admin cleared its flag
    this.flagsBack = [];
  }

  // Set-up ----------------------------------------------------------------------------------------

  async setUp() {
    const { rows: [settings] } = await this.db.query("select idle_timeout::text as idle_timeout from public.settings");
    this.originalIdleTimeout = settings.idle_timeout;
    const { rows: [rpc] } = await this.db.query(
      "select to_regprocedure('public.admin_clear_flag(uuid)') is not null as exists",
    );
    this.clearFlagRpc = rpc.exists;

    const { data: packages, error } = await createClient(this.apiUrl, this.publishableKey, clientOptions)
      .from("credit_packages").select("id, name, credits, bonus_credits, price, currency").eq("is_active", true)
      .order("price");
    if (error || !packages?.length) throw new SimulationError(`no active credit packages (${error?.message ?? "none"})`);
    this.packages = packages;

    await this.createProfiles();
    this.admin = await this.createStaff("admin", "Sim admin");
    const personas = ["steady", "silent", "flapper", "steady", "silent", "steady"];
    for (let i = 0; i < this.plan.operators; i++) {
      const persona = personas[i % personas.length];
      const capacity = { steady: 3, silent: 2, flapper: 2 }[persona];
      // Two languages (SPEC 17): the first operator and the flapper write both, the others one.
      const languages = i === 0 || persona === "flapper" ? ["en", "fr"] : [i % 2 ? "en" : "fr"];
      this.operators.push(await this.createStaff("operator", `Sim op ${i + 1}`, { persona, capacity, index: i, languages }));
    }
    this.planOperators();
    this.planUsers();

    // The compressed day: a few seconds of silence is "idle", and the sweep runs every second or so.
    await this.db.query("update public.settings set idle_timeout = make_interval(secs => $1)", [
      this.plan.idleTimeoutMs / 1000,
    ]);
    this.every(this.plan.sweepMs, () => this.sweep());
    this.every(Math.max(300, Math.floor(this.plan.idleTimeoutMs / 3)), () => this.heartbeatForeign());
    for (const operator of this.operators) await this.setStatus(operator, "available");
    await this.absorbForeignQueue();
    this.log(`simulate: ${this.profiles.length} profiles, ${this.operators.length} operators available, ` +
      `idle timeout ${this.plan.idleTimeoutMs / 1000} s (was ${this.originalIdleTimeout}), sweep every ` +
      `${this.plan.sweepMs / 1000} s${this.foreignHeld.size ? `, ${this.foreignHeld.size} waiting chats of others held aside` : ""}`);
  }

  async createProfiles() {
    const rows = Array.from({ length: this.plan.profiles }, (_, i) => {
      const gender = i % 2 === 0 ? "female" : "male";
      const names = PROFILE_NAMES[gender];
      return {
        name: `Sim ${this.runId} ${names[Math.floor(i / 2) % names.length]} ${i + 1}`,
        age: 22 + ((i * 7) % 20),
        gender,
        bio: "A profile of `npm run simulate`.",
        interests: ["music", "travel"],
        is_featured: i === 0,
        language: i % 4 >= 2 ? "fr" : "en", // both genders in both languages
      };
    });
    const { data, error } = await this.service.from("fictional_users").insert(rows).select("id, name, gender, is_featured");
    if (error) throw new SimulationError(`creating profiles: ${error.message}`);
    this.profiles = data;
    this.profileIds = new Set(data.map((p) => p.id));
  }

  /** An admin or operator: an Auth user made with the secret key, its row, and a signed-in client. */
  async createStaff(kind, name, extra = {}) {
    const email = `${kind}${extra.index !== undefined ? extra.index + 1 : ""}.${this.runId}@sim.fantooo.local`;
    const { data, error } = await this.service.auth.admin.createUser({ email, password: PASSWORD, email_confirm: true });
    if (error) throw new SimulationError(`creating ${email}: ${error.message}`);
    const id = data.user.id;
    const row = kind === "admin"
      ? { id, email, name }
      : { id, email, name, status: "offline", max_concurrent_chats: extra.capacity, languages: extra.languages ?? ["en"] };
    const { error: rowError } = await this.service.from(kind === "admin" ? "admins" : "operators").insert(row);
    if (rowError) throw new SimulationError(`creating the ${kind} row of ${email}: ${rowError.message}`);
    const client = createClient(this.apiUrl, this.publishableKey, clientOptions);
    const { data: session, error: signInError } = await client.auth.signInWithPassword({ email, password: PASSWORD });
    if (signInError) throw new SimulationError(`signing in ${email}: ${signInError.message}`);
    return { id, email, name, client, token: session.session.access_token, ...extra, silent: false };
  }

  planOperators() {
    const { ticks } = this.plan;
    let silentRank = 0;
    for (const operator of this.operators) {
      if (operator.persona === "silent") operator.silentAt = Math.floor(ticks * (0.25 + 0.35 * silentRank++));
    }
    // The flapper drops offline at these ticks until it has pushed a chat to its third reassignment.
    this.flapTicks = ticks >= 30 ? [Math.floor(ticks * 0.4), Math.floor(ticks * 0.75)] : [Math.floor(ticks * 0.5)];
  }

  planUsers() {
    const personas = ["buyer", "free", "topup"];
    const arrivalSpan = Math.max(1, Math.floor(this.plan.ticks * 0.6));
    for (let i = 0; i < this.plan.users; i++) {
      this.users.push({
        index: i,
        email: `user${i + 1}.${this.runId}@sim.fantooo.local`,
        persona: personas[i % personas.length],
        arrivesAt: i < 3 ? 0 : this.rng.int(0, arrivalSpan),
        arrived: false,
        broke: false,
        toppedUp: false,
        chats: [],
      });
    }
  }

  // The day ---------------------------------------------------------------------------------------

  async runDay() {
    const { ticks, tickMs, minutesPerTick } = this.plan;
    for (let tick = 0; tick < ticks; tick++) {
      if (this.signal?.aborted) {
        this.log("simulate: interrupted; tidying up");
        break;
      }
      const tickStart = Date.now();
      const arrivals = this.users.filter((u) => u.arrivesAt === tick);
      await Promise.all(arrivals.map((user) => this.arrive(user)));
      const activity = activityAt(clockLabel(tick, minutesPerTick));
      await Promise.all(this.users.filter((u) => u.arrived && !u.broke).map((user) => this.write(user, activity)));
      if (this.flapTicks.includes(tick) || this.flapPending) await this.flap();
      // Operators whose console goes dark this tick pull first, then the others.
      const goingSilent = this.operators.filter((o) => o.persona === "silent" && !o.silent && tick >= o.silentAt);
      await Promise.all(goingSilent.map((operator) => this.work(operator, tick)));
      await Promise.all(this.operators.filter((o) => !goingSilent.includes(o)).map((operator) => this.work(operator, tick)));
      await this.clearFlags();
      await this.progress(tick, clockLabel(tick, minutesPerTick), arrivals.length);
      await sleep(Math.max(0, tickMs - (Date.now() - tickStart)));
    }
    // Let the sweep take back what the silent operators still hold, then answer what waits.
    await this.waitForSweep();
    await Promise.all(this.operators.map((operator) => this.work(operator, ticks, { drain: true })));
    await this.returningUser();
    await this.clearFlags();
    await this.progress(ticks, clockLabel(ticks, minutesPerTick), 0);
  }

  /**
   * A returning user (SPEC 17): a user whose chat a steady operator answered and let go of within
   * settings.continuity_window writes again, and that operator, asking first, is handed that chat
   * (continuity), which it answers and lets go of. A run where this fails stops with an error.
   */
  async returningUser() {
    const steady = this.operators.filter((o) => o.persona === "steady");
    const { rows } = await this.db.query(`
      select c.id, c.real_user_id, a.operator_id
        from public.chats c
        join lateral (select a.operator_id, a.release_reason, a.released_at from public.chat_assignments a
                       where a.chat_id = c.id order by a.assigned_at desc limit 1) a on true
       where c.real_user_id = any($1::uuid[]) and c.status = 'idle' and a.operator_id = any($2::uuid[])
         and a.release_reason = 'completed'
         and a.released_at > now() - (select s.continuity_window from public.settings s)
       order by a.released_at desc
       limit 10`, [this.users.filter((u) => u.arrived).map((u) => u.id), steady.map((o) => o.id)]);
    for (const row of rows) {
      const user = this.users.find((u) => u.id === row.real_user_id);
      if (!(await this.send(user, row.id))) continue; // out of credits: another one
      const operator = steady.find((o) => o.id === row.operator_id);
      const chat = await this.assign(operator);
      this.counts.returning = chat?.id === row.id ? "back to its operator" : "handed elsewhere";
      this.log(`simulate: ${user.email} came back to chat ${row.id.slice(0, 8)}: ${operator.name} was handed ` +
        `${chat ? chat.id.slice(0, 8) : "nothing"}`);
      if (chat && (await this.answer(operator, chat.id))) await this.release(operator, chat.id, "completed");
      if (chat?.id !== row.id) {
        throw new SimulationError(`continuity: the returning user's chat ${row.id} did not go back to ${operator.email}`);
      }
      return;
    }
    this.counts.returning = "no candidate";
    this.log("simulate: no answered chat of a steady operator to come back to");
  }

  /** A user signs up, creates its profile row, discovers, favourites, opens chats, maybe buys. */
  async arrive(user) {
    user.client = createClient(this.apiUrl, this.publishableKey, clientOptions);
    const { data, error } = await user.client.auth.signUp({ email: user.email, password: PASSWORD });
    if (error || !data.session) throw new SimulationError(`sign-up of ${user.email}: ${error?.message ?? "no session"}`);
    user.id = data.user.id;
    user.token = data.session.access_token;
    const gender = this.rng.pick(["male", "female"]);
    const lookingFor = gender === "male" ? "female" : this.rng.pick(["male", "female"]);
    const { error: rowError } = await user.client.from("real_users").insert({
      id: user.id,
      display_name: `Sim user ${user.index + 1}`,
      age: this.rng.int(18, 60),
      gender,
      looking_for: lookingFor,
    });
    if (rowError) throw new SimulationError(`real_users row of ${user.email}: ${rowError.message}`);
    user.arrived = true;

    // Discovery: the run's profiles among what the user is shown (others' profiles are left alone).
    const seen = [];
    for (let page = 0; page < 5 && seen.length === 0; page++) {
      const { data: found, error: discoverError } = await user.client.rpc("get_available_fictional_profiles", {
        p_user_id: user.id, p_limit: 100, p_offset: page * 100,
      });
      if (discoverError) throw new SimulationError(`discovery by ${user.email}: ${discoverError.message}`);
      seen.push(...found.filter((p) => this.profileIds.has(p.id)));
      if (found.length < 100) break;
    }
    const candidates = seen.length ? seen : this.profiles.filter((p) => p.gender === lookingFor);
    const picks = [...candidates].sort(() => this.rng.next() - 0.5).slice(0, this.rng.int(1, 2));
    for (const profile of picks) {
      if (this.rng.chance(0.7)) {
        const { error: favError } = await user.client.from("favorites").insert({ real_user_id: user.id, fictional_user_id: profile.id });
        if (favError) throw new SimulationError(`favourite by ${user.email}: ${favError.message}`);
      }
      const { data: chatId, error: chatError } = await user.client.rpc("start_chat", { p_fictional_user_id: profile.id });
      if (chatError) throw new SimulationError(`start_chat by ${user.email}: ${chatError.message}`);
      user.chats.push(chatId);
    }
    if (user.persona === "buyer") {
      // Most pay at once; now and then a card is declined first (the checkout stays pending).
      if (this.rng.chance(0.25)) await this.buy(user, this.packages[0], { card: DECLINED_CARD });
      await this.buy(user, this.rng.chance(0.7) ? this.packages[0] : this.packages[Math.min(1, this.packages.length - 1)]);
    }
  }

  /** Checkout as a browser does it: credits-checkout, the Paystack page, pay; wait for the webhook's credit. */
  async buy(user, pack, { card = SUCCESS_CARD } = {}) {
    const started = Date.now();
    const response = await this.callFunction(user.token, "credits-checkout", { package_id: pack.id });
    if (response.status !== 200) {
      throw new SimulationError(`credits-checkout for ${user.email}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    const { authorization_url: url, reference } = response.body;
    const page = await fetch(url);
    if (page.status !== 200) throw new SimulationError(`checkout page ${url}: ${page.status}`);
    await page.text();
    const paid = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ action: "pay", card }).toString(),
      redirect: "manual",
    });
    await paid.text();
    if (card !== SUCCESS_CARD) return false;
    const deadline = Date.now() + 15000;
    for (;;) {
      const { data } = await user.client.from("transactions").select("status").eq("reference", reference).maybeSingle();
      if (data?.status === "success") break;
      if (Date.now() > deadline) throw new SimulationError(`purchase ${reference} was not credited within 15 s`);
      await sleep(100);
    }
    this.latencies.checkout.push(Date.now() - started);
    this.counts.purchases++;
    return true;
  }

  /** A user writes in its chats: after an answer, and now and then twice in a row; less at night. */
  async write(user, activity) {
    for (const chatId of user.chats) {
      if (user.broke) return;
      const { data: last } = await user.client.from("messages").select("sender_type")
        .eq("chat_id", chatId).order("created_at", { ascending: false }).limit(1);
      const answered = !last?.length || last[0].sender_type === "fictional";
      if (!this.rng.chance((answered ? 0.85 : 0.3) * activity)) continue;
      const sent = await this.send(user, chatId);
      if (sent) continue;
      // Out of credits (402): top up once, or give up for the day.
      if (user.persona === "topup" && !user.toppedUp) {
        user.toppedUp = true;
        await this.buy(user, this.packages[0]);
        await this.send(user, chatId);
      } else {
        user.broke = true;
      }
    }
  }

  /** One Data API insert; false on 402 insufficient_credits. */
  async send(user, chatId) {
    const started = Date.now();
    const { error, status } = await user.client.from("messages")
      .insert({ chat_id: chatId, sender_type: "real", content: this.rng.pick(LINES) });
    this.latencies["message insert"].push(Date.now() - started);
    if (!error) return true;
    if (status === 402 && error.message === "insufficient_credits") {
      this.counts.refusals402++;
      return false;
    }
    throw new SimulationError(`message from ${user.email}: ${status} ${error.code} ${error.message}`);
  }

  /** An operator's turn: pull chats, answer, release — or, once silent, nothing at all. */
  async work(operator, tick, { drain = false } = {}) {
    if (operator.silent) return;
    if (operator.persona === "silent" && tick >= operator.silentAt && tick < this.plan.ticks) {
      // Pulls what it can, then its console goes dark: no answer, no heartbeat. (Nothing waiting:
      // it tries again next tick.)
      let pulled = 0;
      while (pulled < operator.capacity && (await this.assign(operator))) pulled++;
      if (pulled > 0) {
        operator.silent = true;
        this.log(`simulate: ${operator.name} took ${pulled} chat(s) and went silent`);
      }
      return;
    }
    // As many chats a tick as it may hold at once: at the evening peak a queue builds up.
    for (let i = 0; i < (drain ? 50 : operator.capacity); i++) {
      const chat = await this.assign(operator);
      if (!chat) break;
      if (await this.answer(operator, chat.id)) await this.release(operator, chat.id, "completed");
    }
  }

  /**
   * assign-chat for the operator. Resolves with the run's chat it was given, or null when nothing
   * waits or it is at capacity. A chat of someone else's is held aside (see heartbeatForeign).
   */
  async assign(operator) {
    for (;;) {
      const started = Date.now();
      const response = await this.callFunction(operator.token, "assign-chat", {});
      this.latencies["assign-chat"].push(Date.now() - started);
      if (response.status === 409 && response.body?.error?.code === "at_capacity") return null;
      if (response.status !== 200) {
        throw new SimulationError(`assign-chat for ${operator.email}: ${response.status} ${JSON.stringify(response.body)}`);
      }
      const chat = response.body.chat;
      if (!chat) return null;
      if (this.isRunChat(chat)) return chat;
      this.foreignHeld.set(chat.id, operator);
      if (!this.foreignBefore.has(chat.id)) {
        const { reassignment_count, flagged_for_review, flag_reason = null } = chat;
        this.foreignBefore.set(chat.id, { reassignment_count, flagged_for_review, flag_reason });
      }
    }
  }

  isRunChat(chat) {
    return this.profileIds.has(chat.fictional_user?.id);
  }

  /** A fictional message; false when the chat is no longer held (the sweep took it: 42501). */
  async answer(operator, chatId) {
    const { error } = await operator.client.from("messages")
      .insert({ chat_id: chatId, sender_type: "fictional", content: this.rng.pick(REPLIES) });
    if (error?.code === "42501") return false;
    if (error) throw new SimulationError(`answer by ${operator.email}: ${error.code} ${error.message}`);
    return true;
  }

  async release(operator, chatId, reason) {
    const response = await this.callFunction(operator.token, "assign-chat/release", { chat_id: chatId, reason });
    // The sweep may have taken it back already (an operator slower than the idle timeout).
    if (response.status === 404 && response.body?.error?.code === "chat_not_held") return false;
    if (response.status !== 200) {
      throw new SimulationError(`release by ${operator.email}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return true;
  }

  async setStatus(operator, status) {
    const { error } = await operator.client.from("operators").update({ status }).eq("id", operator.id);
    if (error) throw new SimulationError(`${operator.email} going ${status}: ${error.message}`);
  }

  /**
   * The flapper's bad connection: it goes available, takes the oldest waiting chat and drops
   * offline (release operator_offline), again and again. The chat keeps its place in the queue,
   * so the next pull usually gets it again; its third such release flags it (SPEC 3). Until one
   * is flagged, it tries again next tick.
   */
  async flap() {
    const flapper = this.operators.find((o) => o.persona === "flapper");
    if (!flapper) return;
    this.flapPending = true;
    for (let round = 0; round < 8; round++) {
      await this.setStatus(flapper, "available");
      const chat = await this.assign(flapper);
      if (!chat) break;
      await this.release(flapper, chat.id, "operator_offline");
      await this.setStatus(flapper, "offline");
      if (chat.reassignment_count + 1 >= 3) {
        this.flapPending = false;
        this.log(`simulate: ${flapper.name} dropped chat ${chat.id.slice(0, 8)} again: reassigned ${chat.reassignment_count + 1} times, flagged for review`);
        break;
      }
    }
    await this.setStatus(flapper, "available");
  }

  /**
   * The admin clears the flags of the run's chats (admin_clear_flag when the migrations have it).
   * A flag that is back on a chat whose reassignment_count has not grown since the admin cleared
   * it was raised without a reassignment: counted in `flagsBack` (an invariant).
   */
  async clearFlags() {
    const { data, error } = await this.admin.client.from("chats").select("id, reassignment_count")
      .eq("flagged_for_review", true).in("fictional_user_id", [...this.profileIds]);
    if (error) throw new SimulationError(`admin reading flagged chats: ${error.message}`);
    for (const { id, reassignment_count: count } of data) {
      if (this.clearedAt.get(id) === count) {
        this.flagsBack.push({ chat_id: id, reassignment_count: count });
        this.log(`simulate: the flag the admin cleared on chat ${id.slice(0, 8)} is back, with no new reassignment`);
      }
      this.clearedAt.set(id, count);
      // TODO(admin_clear_flag): once migrations define public.admin_clear_flag (SPEC 11), it is
      // used (it also records admin_actions); until then the admins' update policy on chats.
      const { error: clearError } = this.clearFlagRpc
        ? await this.admin.client.rpc("admin_clear_flag", { p_chat_id: id })
        : await this.admin.client.from("chats").update({ flagged_for_review: false, flag_reason: null }).eq("id", id);
      if (clearError) throw new SimulationError(`admin clearing the flag of ${id}: ${clearError.message}`);
      this.counts.flagsCleared++;
    }
  }

  // The cron side ---------------------------------------------------------------------------------

  every(ms, fn) {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      fn().catch(() => {}).finally(() => (busy = false));
    }, ms);
    this.timers.push(timer);
  }

  /** What pg_cron runs every minute: queue the idle-sweeper call, which pg_net delivers. */
  async sweep() {
    try {
      await this.db.query("select private.invoke_idle_sweeper()");
    } catch {
      // No sweeper configured (Vault lacks project_url or sweeper_key): sweep in the database.
      this.counts.sweepErrors++;
      await this.db.query("select public.sweep_idle_chats()");
    }
    this.counts.sweeps++;
  }

  /** Keeps others' chats that our operators were handed away from the sweep. */
  async heartbeatForeign() {
    await Promise.all([...this.foreignHeld].map(async ([chatId, operator]) => {
      const response = await this.callFunction(operator.token, "assign-chat/heartbeat", { chat_id: chatId });
      if (response.status === 404) this.foreignHeld.delete(chatId); // closed or released by someone else
    }));
  }

  /**
   * The queue serves the oldest waiting chat of all, so waiting chats of others (the seed's, a
   * developer's) would be handed to our operators first. One operator of the run takes them
   * before the day starts, holds them untouched (heartbeats) and goes busy; they are handed back
   * with `completed` (no reassignment) at the end, in their old place.
   */
  async absorbForeignQueue() {
    const { rows: [{ n }] } = await this.db.query("select count(*)::int as n from public.chats where status = 'waiting'");
    if (n === 0) return;
    if (n > 200) {
      throw new SimulationError(`${n} chats already wait on this stack: their queue would swamp the run; ` +
        "use --throwaway");
    }
    const { rows: [{ languages }] } = await this.db.query(`
      select array_agg(distinct f.language) as languages from public.chats c
        join public.fictional_users f on f.id = c.fictional_user_id where c.status = 'waiting'`);
    const holder = await this.createStaff("operator", "Sim concierge", {
      persona: "concierge", capacity: n + 5, index: this.operators.length, languages,
    });
    this.operators.push(holder);
    holder.silent = true; // takes part in nothing else
    await this.setStatus(holder, "available");
    while (await this.assign(holder)) { /* a chat of the run cannot wait yet */ }
    await this.setStatus(holder, "busy");
  }

  async waitForSweep() {
    const deadline = Date.now() + this.plan.idleTimeoutMs * 3 + 5000;
    const held = () => this.db.query(
      `select count(*)::int as n from public.chat_assignments a join public.chats c on c.id = a.chat_id
        where a.released_at is null and c.fictional_user_id = any($1::uuid[]) and a.operator_id = any($2::uuid[])`,
      [[...this.profileIds], this.operators.filter((o) => o.persona === "silent").map((o) => o.id)],
    );
    while (Date.now() < deadline && (await held()).rows[0].n > 0) await sleep(200);
  }

  // Progress --------------------------------------------------------------------------------------

  async progress(tick, clock, arrived) {
    const { rows: [r] } = await this.db.query(
      `select count(*) filter (where c.status = 'waiting')::int as waiting,
              count(*) filter (where c.status = 'assigned')::int as assigned,
              count(*) filter (where c.status = 'idle')::int as idle,
              count(*)::int as chats,
              count(*) filter (where c.reassignment_count >= 3)::int as raised,
              (select count(*) from public.messages m join public.chats x on x.id = m.chat_id
                where x.fictional_user_id = any($1::uuid[]) and m.sender_type = 'real')::int as real,
              (select count(*) from public.messages m join public.chats x on x.id = m.chat_id
                where x.fictional_user_id = any($1::uuid[]) and m.sender_type = 'fictional')::int as fictional,
              (select count(*) from public.chat_assignments a join public.chats x on x.id = a.chat_id
                where x.fictional_user_id = any($1::uuid[]) and a.release_reason = 'idle_timeout')::int as swept
         from public.chats c where c.fictional_user_id = any($1::uuid[])`,
      [[...this.profileIds]],
    );
    const broken = await this.checkDuring();
    const users = this.users.filter((u) => u.arrived).length;
    this.log(
      `[${clock}] users ${users}${arrived ? ` (+${arrived})` : ""} · paid ${this.counts.purchases} · ` +
        `chats ${r.chats}: ${r.waiting} waiting, ${r.assigned} assigned, ${r.idle} idle · ` +
        `messages ${r.real} real / ${r.fictional} answers · 402s ${this.counts.refusals402} · ` +
        `swept ${r.swept} (${this.counts.sweeps} sweeps) · flags ${r.raised} raised / ${this.counts.flagsCleared} cleared · ` +
        (broken.length ? `BROKEN: ${broken.join("; ")}` : "invariants hold"),
    );
  }

  /** The structural invariants on live state; remembers the worst count of each. */
  async checkDuring() {
    const broken = [];
    for (const invariant of INVARIANTS.filter((i) => i.during)) {
      const { rows } = await scopedQuery(this.db, invariant.sql, this.scopeParams("run"));
      this.during.set(invariant.name, Math.max(this.during.get(invariant.name) ?? 0, rows.length));
      if (rows.length) broken.push(`${invariant.name} (${rows.length})`);
    }
    return broken;
  }

  scopeParams(scope) {
    if (scope === "all") return [null, null];
    return [this.users.filter((u) => u.id).map((u) => u.id), this.operators.map((o) => o.id)];
  }

  // The end ---------------------------------------------------------------------------------------

  /**
   * Others' chats the run held aside leave no trace: a chat waiting for an answer counts a
   * reassignment on every release, `completed` included (SPEC 12), and could be flagged by it, so
   * each gets back the reassignment_count and flag it had when the queue handed it to us, and the
   * run's assignments of it (held untouched, never answered) are deleted. Chats released by
   * someone else meanwhile are left alone.
   */
  async restoreForeignChats() {
    const chats = [...this.foreignBefore].map(([id, before]) => ({ id, ...before }));
    if (!chats.length) return;
    const operatorIds = this.operators.map((o) => o.id);
    await this.db.query(
      `with before as (
         select * from jsonb_to_recordset($1::jsonb)
           as b (id uuid, reassignment_count integer, flagged_for_review boolean, flag_reason text)
       ), ours as (
         delete from public.chat_assignments a
          using before b
          where a.chat_id = b.id and a.operator_id = any($2::uuid[]) and a.released_at is not null
         returning a.chat_id
       )
       update public.chats c
          set reassignment_count = b.reassignment_count,
              flagged_for_review = b.flagged_for_review,
              flag_reason = b.flag_reason
         from before b
        where c.id = b.id and c.id in (select chat_id from ours)`,
      [JSON.stringify(chats), operatorIds],
    );
    await this.db.query(
      "delete from public.operator_activity where chat_id = any($1::uuid[]) and operator_id = any($2::uuid[])",
      [chats.map((c) => c.id), operatorIds],
    );
    this.foreignBefore.clear();
  }

  /** Hands back others' chats, takes operators offline, closes every chat of the run, restores settings. */
  async tearDown() {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    const steps = [
      ["handing back others' chats", () => Promise.all([...this.foreignHeld].map(([chatId, operator]) =>
        this.release(operator, chatId, "completed")))],
      ["leaving others' chats as they were", () => this.restoreForeignChats()],
      ["taking operators offline", () => Promise.all(this.operators.map((o) => this.setStatus(o, "offline")))],
      ["closing the run's chats", () => Promise.all(this.users.filter((u) => u.arrived).flatMap((user) =>
        user.chats.map(async (chatId) => {
          const { error } = await user.client.rpc("close_chat", { p_chat_id: chatId });
          if (error) throw new Error(`${user.email} closing ${chatId}: ${error.message}`);
        })))],
      ["restoring settings.idle_timeout", () => this.originalIdleTimeout !== null &&
        this.db.query("update public.settings set idle_timeout = $1::interval", [this.originalIdleTimeout])],
      ["deactivating the run's profiles", () => this.profiles.length &&
        this.service.from("fictional_users").update({ is_active: false }).in("id", [...this.profileIds])],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.log(`simulate: ${what}: ${error.message}`);
      }
    }
    this.foreignHeld.clear();
  }

  async check(scope) {
    const fmt = { seconds: (s) => (s === null ? "-" : formatSeconds(Number(s))) };
    const runParams = this.scopeParams("run");
    const summary = [];
    for (const figure of SUMMARY) {
      const { rows: [row] } = await scopedQuery(this.db, figure.sql, runParams);
      summary.push(...figure.show(row, fmt));
    }
    summary.push(["flag clears by the admin (client)", this.counts.flagsCleared]);
    summary.push(["returning user (continuity)", this.counts.returning ?? "-"]);
    summary.push(["402 refusals seen by clients", this.counts.refusals402]);
    summary.push(["idle sweeps run", this.counts.sweeps]);
    for (const [what, values] of Object.entries(this.latencies)) {
      if (!values.length) continue;
      summary.push([`${what} p50 / p95 (client)`, `${Math.round(percentile(values, 50))} / ${Math.round(percentile(values, 95))} ms`]);
    }

    const invariants = [];
    let adjustments = null;
    let adjustmentsError = null;
    try {
      adjustments = await findAdjustments(this.db);
    } catch (error) {
      adjustmentsError = error.message;
    }
    for (const invariant of [...INVARIANTS, LEFT_OPEN]) {
      const sql = invariant.sql ?? ledgerSql(adjustments);
      const params = invariant.ledger ? runParams : this.scopeParams(scope);
      const during = invariant.during ? this.during.get(invariant.name) ?? 0 : undefined;
      try {
        if (!invariant.sql && adjustmentsError) throw new Error(adjustmentsError);
        const { rows } = await scopedQuery(this.db, sql, params);
        invariants.push({ name: invariant.name, ok: rows.length === 0 && !during, count: rows.length, during, rows: rows.slice(0, 5) });
      } catch (error) {
        invariants.push({ name: invariant.name, ok: false, count: null, during, error: error.message });
      }
    }
    invariants.push({
      name: "a cleared flag stays cleared until the next reassignment",
      ok: this.flagsBack.length === 0,
      count: this.flagsBack.length,
      rows: this.flagsBack.slice(0, 5),
    });
    invariants.push(await this.checkOperatorsHidden());
    for (const broken of invariants.filter((i) => !i.ok && i.rows?.length)) {
      this.log(`simulate: ${broken.name}: ${JSON.stringify(broken.rows)}`);
    }
    return { summary, invariants };
  }

  /**
   * SPEC 5: nothing a real user reads through the Data API names or identifies an operator. As the
   * run's users that got answers: `select=*` on what they may read has no operator column and no
   * operator's id, email or name; operator-side tables give them no row.
   */
  async checkOperatorsHidden() {
    const name = "no real user can read an operator's identity";
    const readers = this.users.filter((u) => u.arrived).slice(0, 3);
    const secrets = this.operators.flatMap((o) => [o.id, o.email, o.name]);
    const leaks = [];
    try {
      for (const user of readers) {
        for (const table of ["chats", "messages", "real_users", "favorites", "transactions", "fictional_users"]) {
          const { data, error } = await user.client.from(table).select("*").limit(500);
          if (error) throw new Error(`${table}: ${error.message}`);
          for (const row of data) {
            const text = JSON.stringify(row);
            const column = Object.keys(row).find((key) => /operator/i.test(key));
            if (column) leaks.push(`${table}.${column}`);
            else if (secrets.some((secret) => text.includes(secret))) leaks.push(`${table} row ${row.id ?? ""}`);
          }
        }
        for (const table of ["operators", "chat_assignments", "operator_activity", "message_authors", "fictional_user_guidelines", "operator_stats"]) {
          const { data } = await user.client.from(table).select("*").limit(1);
          if (data?.length) leaks.push(`${table} readable`);
        }
      }
      return { name, ok: leaks.length === 0 && readers.length > 0, count: leaks.length, rows: [...new Set(leaks)].slice(0, 5) };
    } catch (error) {
      return { name, ok: false, count: null, error: error.message };
    }
  }

  async callFunction(token, name, body) {
    const response = await fetch(`${this.functionsUrl}/${name}`, {
      method: "POST",
      headers: { apikey: this.publishableKey, authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let parsed = text;
    try {
      parsed = JSON.parse(text);
    } catch { /* keep the text */ }
    return { status: response.status, body: parsed };
  }

  async close() {
    for (const timer of this.timers) clearInterval(timer);
    await this.db.end().catch(() => {});
  }
}

/**
 * `npm run simulate [-- --small] [--throwaway] [--seed N] [--all]`: on the stack `npm start` runs
 * (`runningStack()` resolves with its stack.json state), or on a throwaway stack. Returns the exit
 * code: 0 when every invariant holds, 1 when one breaks or the run fails, 2 on bad options, 130
 * when interrupted (Ctrl-C once: the run tidies up and checks; twice: it stops at once).
 */
export async function simulateCommand({ root, args, runningStack, log = console.log }) {
  let options;
  try {
    options = parseSimulateArgs(args);
  } catch (error) {
    console.error(`[simulate] ${error.message}: use --small, --throwaway, --seed <n>, --all`);
    return 2;
  }
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  let stack = null;
  try {
    let env;
    if (options.throwaway) {
      const { startThrowawayStack, statusEnv } = await import("../stack/stack.mjs");
      stack = await startThrowawayStack({ root, prefix: "fantooo-sim-", log: (line) => log(`[stack] ${line}`) });
      env = statusEnv(stack);
    } else {
      env = await runningStack();
    }
    const result = await runSimulation({ env, scale: options.scale, seed: options.seed, scope: options.scope, log, signal: controller.signal });
    if (controller.signal.aborted) return 130; // interrupted: tidied up and checked, but not a whole day
    return result.ok ? 0 : 1;
  } catch (error) {
    console.error(`[simulate] ${error instanceof SimulationError ? error.message : error.stack}`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    if (stack) {
      await stack.stop();
      stack.remove();
    }
  }
}

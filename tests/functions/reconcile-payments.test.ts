// Payments never stay pending (SPEC 16): reconcile-payments, reached over HTTP through the gateway
// the way pg_cron's call is (and once through the cron job's own command, Vault and pg_net), settles
// what no webhook settled, against the local fake Paystack; the database is checked afterwards.
//
// The fake Paystack's "misbehave next call" switch is global and vitest runs files one after
// another, so this file's tests run in order, each settling its own transactions before the next;
// the cron job is paused meanwhile, so that its tick does not race the runs the tests make.
// A transaction is made "pending for more than 10 minutes" by moving its created_at back.
import { randomUUID } from "node:crypto";
import { FunctionsHttpError } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver, fakePaystack } from "../support/paystack.ts";
import { accessToken, anonClient, closeDb, db, stack, userClient } from "../support/stack.ts";

const buyer = randomUUID();
let popular: { id: string; price: number; credits: number; bonus_credits: number };

/** A checkout by the buyer through credits-checkout, its created_at moved back `minutes`. */
async function pendingCheckout(minutes = 11): Promise<string> {
  const { data, error } = await userClient(buyer).functions.invoke("credits-checkout", { body: { package_id: popular.id } });
  if (error instanceof FunctionsHttpError) throw new Error(`checkout: ${await error.context.text()}`);
  expect(error).toBeNull();
  await age(data.reference, minutes);
  return data.reference;
}

async function age(reference: string, minutes: number) {
  await db().query("update public.transactions set created_at = now() - make_interval(mins => $2) where reference = $1", [
    reference,
    minutes,
  ]);
}

/** One run, as pg_cron calls it: POST with a secret key in apikey. */
async function reconcile(headers: Record<string, string> = { apikey: stack.secretKey }) {
  const response = await fetch(`${stack.functionsUrl}/reconcile-payments`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: "{}",
  });
  return { status: response.status, body: await response.json() };
}

async function transaction(reference: string) {
  const { rows } = await db().query("select status, failure_reason from public.transactions where reference = $1", [reference]);
  return rows[0];
}

async function balance(): Promise<number> {
  const { rows } = await db().query("select credits from public.real_users where id = $1", [buyer]);
  return rows[0].credits;
}

async function events(reference: string) {
  const { rows } = await db().query(
    "select event, outcome, deliveries, source from public.paystack_events where reference = $1 order by received_at",
    [reference],
  );
  return rows;
}

async function run(id: number) {
  const { rows } = await db().query("select * from public.payment_reconciliation_runs where id = $1", [id]);
  return rows[0];
}

beforeAll(async () => {
  await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [
    buyer,
    `reconcile-${buyer}@example.com`,
  ]);
  await db().query(
    "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Reconciled', 30, 'female', 'male')",
    [buyer],
  );
  const { data, error } = await anonClient().from("credit_packages").select("*").eq("name", "Popular").single();
  expect(error).toBeNull();
  popular = data!;
  // The 5-minute tick would race this file's runs: the tests run the job's command themselves.
  await db().query("select cron.alter_job(jobid, active := false) from cron.job where jobname = 'reconcile-payments'");
  // Nothing of an earlier file waits to be reconciled (each settles or deletes its own).
  await reconcile();
});

afterAll(async () => {
  await db().query("select cron.alter_job(jobid, active := true) from cron.job where jobname = 'reconcile-payments'");
  await db().query("delete from public.paystack_events where transaction_id in (select id from public.transactions where real_user_id = $1)", [buyer]);
  await db().query("delete from public.transactions where real_user_id = $1", [buyer]);
  await db().query("delete from auth.users where id = $1", [buyer]);
  await closeDb();
});

describe("reconcile-payments", () => {
  it("a declined card is failed by the next run of the cron job (Vault's reconcile_key, through pg_net)", async () => {
    const reference = await pendingCheckout();
    await fakePaystack(`/transactions/${reference}/fail`);

    const { rows: [{ command }] } = await db().query("select command from cron.job where jobname = 'reconcile-payments'");
    const { rows: [{ id }] } = await db().query(`${command} as id`);
    let response: { status_code: number; content: string } | undefined;
    const deadline = Date.now() + 20_000;
    while (!response && Date.now() < deadline) {
      response = (await db().query("select status_code, content from net._http_response where id = $1", [id])).rows[0];
      if (!response) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(response?.status_code).toBe(200);
    const body = JSON.parse(response!.content);
    expect(body).toMatchObject({ checked: 1, credited: 0, failed: 1, errors: 0 });
    expect(await transaction(reference)).toEqual({ status: "failed", failure_reason: "paystack_failed" });
    expect(await run(body.run_id)).toMatchObject({ checked: 1, credited: 0, failed: 1, errors: 0, error_detail: [] });
  });

  it("paid but the webhook lost: the run credits it once, and the late webhook changes nothing", async () => {
    const reference = await pendingCheckout();
    const event = await fakePaystack(`/transactions/${reference}/pay`); // marked paid, delivered nowhere
    const before = await balance();

    const { status, body } = await reconcile();
    expect(status).toBe(200);
    expect(body).toMatchObject({ checked: 1, credited: 1, failed: 0, errors: 0 });
    expect(await transaction(reference)).toEqual({ status: "success", failure_reason: null });
    expect(await balance()).toBe(before + 55);

    const late = await deliver(JSON.stringify(event));
    expect(late.status).toBe(200);
    expect(late.body.outcome).toBe("duplicate");
    expect(await balance()).toBe(before + 55);
    expect(await events(reference)).toEqual([{ event: "charge.success", outcome: "credited", deliveries: 2, source: "verify" }]);

    // Settled: the next run does not look at it again.
    expect((await reconcile()).body).toMatchObject({ checked: 0, credited: 0 });
  });

  it("a run and the webhook racing on one reference credit it once", async () => {
    const reference = await pendingCheckout();
    const event = await fakePaystack(`/transactions/${reference}/pay`);
    const before = await balance();

    const [ran, webhook] = await Promise.all([reconcile(), deliver(JSON.stringify(event))]);
    expect(ran.status).toBe(200);
    expect(webhook.status).toBe(200);
    expect(await balance()).toBe(before + 55);
    const recorded = await events(reference);
    expect(recorded).toHaveLength(1);
    // The run settles what was still pending when it looked: if the webhook came first, the run
    // did not check the reference at all; if the run checked it, both reached the same row.
    expect(ran.body.checked).toBeLessThanOrEqual(1);
    expect(recorded[0]).toMatchObject({ event: "charge.success", outcome: "credited", deliveries: 1 + ran.body.checked });
    expect(await transaction(reference)).toEqual({ status: "success", failure_reason: null });
  });

  it("Paystack down during a run: nothing changes, the error is recorded, and the next run settles", async () => {
    const reference = await pendingCheckout();
    await fakePaystack(`/transactions/${reference}/pay`);
    const before = await balance();
    const { rows: [{ waiting }] } = await db().query(
      "select count(*)::integer as waiting from public.transactions where status = 'pending' and created_at < now() - interval '10 minutes'",
    );
    expect(waiting).toBe(1); // so that the one failure queued below is this transaction's
    await fakePaystack("/next", { mode: "error", count: 1 });

    const down = await reconcile();
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ checked: 0, credited: 0, failed: 0, errors: 1 });
    expect(await transaction(reference)).toEqual({ status: "pending", failure_reason: null });
    expect(await balance()).toBe(before);
    expect((await run(down.body.run_id)).error_detail).toEqual([
      { reference, code: "paystack_error", message: expect.any(String) },
    ]);

    const next = await reconcile();
    expect(next.body).toMatchObject({ checked: 1, credited: 1, errors: 0 });
    expect(await transaction(reference)).toMatchObject({ status: "success" });
    expect(await balance()).toBe(before + 55);
  });

  it("settles every state Paystack reports: reversed and abandoned fail, still processing waits up to 24 hours", async () => {
    const reversed = await pendingCheckout();
    await fakePaystack(`/transactions/${reversed}/reverse`);
    const abandoned = await pendingCheckout(); // the fake's state until someone pays or fails
    const processing = await pendingCheckout();
    await fakePaystack(`/transactions/${processing}/processing`);
    const stale = await pendingCheckout(24 * 60 + 1);
    await fakePaystack(`/transactions/${stale}/processing`);
    const recent = await pendingCheckout(2); // within its 10 minutes: not looked at
    await fakePaystack(`/transactions/${recent}/fail`);

    const { body } = await reconcile();
    expect(body).toMatchObject({ checked: 4, credited: 0, failed: 3, pending: 1, errors: 0 });
    expect(await transaction(reversed)).toEqual({ status: "failed", failure_reason: "paystack_reversed" });
    expect(await transaction(abandoned)).toEqual({ status: "failed", failure_reason: "paystack_abandoned" });
    expect(await transaction(processing)).toEqual({ status: "pending", failure_reason: null });
    expect(await transaction(stale)).toEqual({ status: "failed", failure_reason: "expired" });
    expect(await transaction(recent)).toEqual({ status: "pending", failure_reason: null });

    // Tidy up for the next test: the processing one fails at Paystack after all.
    await fakePaystack(`/transactions/${processing}/fail`);
    await fakePaystack(`/transactions/${recent}/fail`);
    await age(recent, 11);
    expect((await reconcile()).body).toMatchObject({ checked: 2, failed: 2 });
  });

  it("checkouts whose card was declined stop counting toward the 10 pending checkouts per hour once reconciled", async () => {
    const declined = [];
    for (let i = 0; i < 10; i++) declined.push(await pendingCheckout(0));
    const refused = await userClient(buyer).functions.invoke("credits-checkout", { body: { package_id: popular.id } });
    expect(refused.error).toBeInstanceOf(FunctionsHttpError);
    expect((refused.error as FunctionsHttpError).context.status).toBe(429);

    for (const reference of declined) {
      await fakePaystack(`/transactions/${reference}/fail`);
      await age(reference, 11);
    }
    expect((await reconcile()).body).toMatchObject({ checked: 10, failed: 10 });
    const again = await userClient(buyer).functions.invoke("credits-checkout", { body: { package_id: popular.id } });
    expect(again.error).toBeNull();
    await fakePaystack(`/transactions/${again.data.reference}/fail`);
  });

  it("answers 401 to anything but a secret key, and changes nothing", async () => {
    const reference = await pendingCheckout();
    await fakePaystack(`/transactions/${reference}/fail`);
    const runs = async () => (await db().query("select count(*)::integer as n from public.payment_reconciliation_runs")).rows[0].n;
    const before = await runs();

    for (const headers of [
      { apikey: stack.publishableKey },
      { apikey: stack.publishableKey, Authorization: `Bearer ${accessToken(buyer)}` },
      { apikey: stack.publishableKey, Authorization: `Bearer ${stack.publishableKey}` },
    ]) {
      const { status, body } = await reconcile(headers);
      expect(status).toBe(401);
      expect(body.error.code).toBe("unauthorized");
    }
    expect(await runs()).toBe(before);
    expect(await transaction(reference)).toEqual({ status: "pending", failure_reason: null });

    expect((await reconcile()).body).toMatchObject({ failed: 1 });
  });
});

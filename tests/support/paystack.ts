// How the payment suites reach Paystack's side of the stack: signed webhook calls as Paystack makes
// them, the fake Paystack's test controls, buyers with a profile row, and functions called as a
// signed-in user through supabase-js. One place, so every suite signs and calls the same way.
import { createHmac, randomUUID } from "node:crypto";
import { FunctionsHttpError } from "@supabase/supabase-js";
import { expect } from "vitest";
import { db, stack, userClient } from "./stack.ts";

export const webhookUrl = `${stack.functionsUrl}/paystack-webhook`;

/** HMAC-SHA512 of the raw body, hex: Paystack's x-paystack-signature. */
export function sign(body: string, key = stack.paystackSecretKey): string {
  return createHmac("sha512", key).update(body).digest("hex");
}

/** Delivers a webhook call as Paystack does (raw JSON body, its signature in a header): the answer. */
export async function deliver(body: string): Promise<{ status: number; body: any }> {
  const response = await fetch(webhookUrl, {
    method: "POST",
    headers: { "content-type": "application/json", "x-paystack-signature": sign(body) },
    body,
  });
  return { status: response.status, body: await response.json() };
}

/** A test-control route of the fake Paystack (e.g. /transactions/<ref>/pay): the event it builds. */
export async function fakePaystack(path: string, body: unknown = {}): Promise<any> {
  const response = await fetch(`${stack.paystackApiUrl}/__fake${path}`, { method: "POST", body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return response.json();
}

/** A real user with a profile row (and an email, which checkout needs); its id goes into `created`. */
export async function newBuyer(created: string[], label: string): Promise<string> {
  const id = randomUUID();
  created.push(id);
  await db().query("insert into auth.users (id, email, aud, role) values ($1, $2, 'authenticated', 'authenticated')", [
    id,
    `${label}-${id}@example.com`,
  ]);
  await db().query(
    "insert into public.real_users (id, display_name, age, gender, looking_for) values ($1, 'Buyer', 30, 'female', 'male')",
    [id],
  );
  return id;
}

/** The user's credits, read through supabase-js as the app shows them. */
export async function balance(userId: string): Promise<number> {
  const { data, error } = await userClient(userId).from("real_users").select("credits").single();
  expect(error).toBeNull();
  return data!.credits;
}

/** Calls a function as a signed-in user through supabase-js: status, JSON body and headers. */
export async function invokeAs(userId: string, name: string, body: unknown = {}) {
  const { data, error, response } = await userClient(userId).functions.invoke(name, { body });
  if (error instanceof FunctionsHttpError) {
    const context = error.context as Response;
    return { status: context.status, body: await context.json(), headers: context.headers };
  }
  expect(error).toBeNull();
  return { status: 200, body: data, headers: response?.headers ?? new Headers() };
}

// A small "frontend" written only against the takeaway types (types/) and the clients a browser
// app uses: supabase-js for the Data API, openapi-fetch for the Edge Functions. It is compiled,
// never run (tests/frontend/takeaway-types.test.ts); the @ts-expect-error lines prove the unions
// are unions, not string.
import { createClient } from "@supabase/supabase-js";
import createFetchClient from "openapi-fetch";
import { ChatStatus, type ErrorCode, type Gender, type SenderType } from "../../types/constants";
import type { Database } from "../../types/database.types";
import type { ApiErrorBody, FunctionRequest, FunctionResponse, paths } from "../../types/functions";

const supabase = createClient<Database>("http://127.0.0.1:54321", "sb_publishable_…");

export async function signUpProfile(id: string, gender: Gender): Promise<void> {
  const { error } = await supabase.from("real_users").insert({
    id,
    display_name: "Ruth",
    age: 30,
    gender,
    looking_for: gender === "male" ? "female" : "male",
  });
  if (error) throw new Error(error.message);
}

export async function send(chatId: string, content: string): Promise<number> {
  const sender: SenderType = "real";
  // @ts-expect-error: "operator" is not a sender type
  const wrong: SenderType = "operator";
  void wrong;
  const { data, error } = await supabase.from("messages")
    .insert({ chat_id: chatId, content, sender_type: sender })
    .select("credits_charged")
    .single();
  if (error) throw new Error(error.message === "insufficient_credits" ? "buy credits" : error.message);
  return data.credits_charged;
}

export function isOpen(status: string): boolean {
  return (ChatStatus as readonly string[]).includes(status) && status !== "closed";
}

export function explain(code: ErrorCode): string {
  switch (code) {
    case "insufficient_credits":
      return "Buy credits to keep chatting.";
    case "rate_limited":
      return "Try again in a moment.";
    default:
      return code;
  }
}

// The Edge Functions, typed from their OpenAPI documents.
const functions = createFetchClient<paths>({ baseUrl: "http://127.0.0.1:54321/functions/v1" });
functions.use({
  async onRequest({ request }) {
    const { data } = await supabase.auth.getSession();
    request.headers.set("Authorization", `Bearer ${data.session?.access_token}`);
    return request;
  },
});

export async function buy(packageId: string, accessToken: string): Promise<string> {
  const { data, error } = await functions.POST("/credits-checkout", {
    body: { package_id: packageId },
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  if (error) throw new Error(error.error.code);
  return data.authorization_url;
}

export async function release(chatId: string, accessToken: string): Promise<boolean> {
  const { data } = await functions.POST("/assign-chat/release", {
    body: { chat_id: chatId, reason: "completed" },
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  return data?.released ?? false;
}

// Or with supabase.functions.invoke and the request/answer helpers.
export async function verify(reference: string): Promise<number> {
  const body: FunctionRequest<"/credits-checkout/verify"> = { reference };
  const { data, error } = await supabase.functions.invoke<FunctionResponse<"/credits-checkout/verify">>(
    "credits-checkout/verify",
    { body },
  );
  if (error || !data) throw new Error("verify failed");
  return data.credits_granted;
}

export function errorCode(body: ApiErrorBody): string {
  return body.error.code;
}

// @ts-expect-error: the release reason is a union
export const badRelease: FunctionRequest<"/assign-chat/release"> = { chat_id: "x", reason: "bored" };

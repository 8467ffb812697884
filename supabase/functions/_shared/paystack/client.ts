// A small Paystack API client: initialize a transaction and verify one. The base URL comes from
// PAYSTACK_API_URL so that tests can point it at a local fake. Every way Paystack can fail
// (unreachable, too slow, refusing, answering nonsense) becomes a 502 ApiError with a clear code;
// Paystack's own wording goes to the log, not to the client.
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { type PaystackTransaction, paystackTransaction } from "./payments.ts";

export type PaystackClientOptions = {
  baseUrl: string;
  secretKey: string;
  timeoutMs: number;
  fetch?: typeof fetch;
};

export type InitializeInput = {
  email: string;
  /** Subunits (cents). */
  amount: number;
  currency: string;
  reference: string;
  metadata: Record<string, unknown>;
  callbackUrl?: string;
};

const initializeData = z.object({
  authorization_url: z.string().url(),
  access_code: z.string().min(1),
  reference: z.string().min(1),
});
export type InitializeResult = z.infer<typeof initializeData>;

const envelope = z.object({ status: z.literal(true), data: z.unknown() });

export type PaystackClient = {
  initialize(input: InitializeInput): Promise<InitializeResult>;
  verify(reference: string): Promise<PaystackTransaction>;
  /** verify, but null when Paystack answers that it knows no such reference. */
  find(reference: string): Promise<PaystackTransaction | null>;
};

/**
 * Paystack's answer to a reference it does not know: 400 (or 404) with `code`
 * transaction_not_found, or, from older API versions, the message "Transaction reference not found".
 */
function isNotFound(status: number, json: unknown): boolean {
  if (
    (status !== 400 && status !== 404) || json === null ||
    typeof json !== "object"
  ) {
    return false;
  }
  const { code, message } = json as { code?: unknown; message?: unknown };
  return code === "transaction_not_found" ||
    (typeof message === "string" && /reference not found/i.test(message));
}

export function createPaystackClient(
  options: PaystackClientOptions,
): PaystackClient {
  const fetchImpl = options.fetch ?? fetch;

  async function call<T extends z.ZodType>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    schema: T,
  ): Promise<z.infer<T>>;
  async function call<T extends z.ZodType>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    schema: T,
    nullWhenNotFound: true,
  ): Promise<z.infer<T> | null>;
  async function call<T extends z.ZodType>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    schema: T,
    nullWhenNotFound = false,
  ): Promise<z.infer<T> | null> {
    const operation = `${method} ${path.split("/").slice(0, 3).join("/")}`;
    let status = 0;
    let text = "";
    try {
      const response = await fetchImpl(`${options.baseUrl}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${options.secretKey}`,
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (err) {
      const timedOut = err instanceof DOMException &&
        (err.name === "TimeoutError" || err.name === "AbortError");
      logUpstream(operation, status, timedOut ? "timeout" : String(err));
      throw timedOut
        ? new ApiError(
          502,
          "paystack_timeout",
          "Paystack did not answer in time. Please try again.",
        )
        : new ApiError(
          502,
          "paystack_unreachable",
          "Paystack could not be reached. Please try again.",
        );
    }
    const json = parseOrUndefined(text);
    const ok = status >= 200 && status < 300 &&
      envelope.safeParse(json).success;
    if (ok) {
      const data = schema.safeParse((json as { data: unknown }).data);
      if (data.success) return data.data;
      logUpstream(operation, status, `unexpected data: ${data.error.message}`);
      throw new ApiError(
        502,
        "paystack_bad_response",
        "Paystack answered in an unexpected way.",
      );
    }
    if (nullWhenNotFound && isNotFound(status, json)) return null;
    const upstreamMessage =
      json !== null && typeof json === "object" && "message" in json
        ? String((json as { message: unknown }).message)
        : "no message";
    logUpstream(operation, status, upstreamMessage);
    throw new ApiError(502, "paystack_error", "Paystack refused the request.");
  }

  return {
    initialize: (input) =>
      call("POST", "/transaction/initialize", {
        email: input.email,
        amount: String(input.amount),
        currency: input.currency,
        reference: input.reference,
        metadata: JSON.stringify(input.metadata),
        ...(input.callbackUrl ? { callback_url: input.callbackUrl } : {}),
      }, initializeData),
    verify: (reference) =>
      call(
        "GET",
        `/transaction/verify/${encodeURIComponent(reference)}`,
        undefined,
        paystackTransaction,
      ),
    find: (reference) =>
      call(
        "GET",
        `/transaction/verify/${encodeURIComponent(reference)}`,
        undefined,
        paystackTransaction,
        true,
      ),
  };
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function logUpstream(operation: string, status: number, detail: string) {
  console.warn(
    JSON.stringify({
      level: "warn",
      upstream: "paystack",
      operation,
      status,
      detail,
    }),
  );
}

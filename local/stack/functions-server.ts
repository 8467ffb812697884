// Serves the project's Edge Functions from one Deno process, the way Supabase's Edge Runtime
// does: a request for /<name>/... reaches the hono app of supabase/functions/<name>/app.ts with
// that path. Each function's index.ts does the same for itself on the hosted runtime; this server
// imports the same app modules and validates each one's environment with its own schema, so the
// code under test is the code that is deployed.
//
// Env: FUNCTIONS_PORT, FANTOOO_FUNCTIONS (comma-separated names from supabase/config.toml) and
// what each function's `envSchema` names, validated before serving.
import type { z } from "zod";
import { loadEnv } from "../../supabase/functions/_shared/env.ts";

type FetchHandler = { fetch(request: Request): Response | Promise<Response> };
type FunctionModule = {
  envSchema: z.ZodType;
  createApp(env: unknown): FetchHandler;
};

const port = Number(Deno.env.get("FUNCTIONS_PORT") ?? "54330");
const names = (Deno.env.get("FANTOOO_FUNCTIONS") ?? "").split(",").filter(
  Boolean,
);

const apps = new Map<string, FetchHandler>();
for (const name of names) {
  const url = new URL(
    `../../supabase/functions/${name}/app.ts`,
    import.meta.url,
  );
  try {
    await Deno.stat(url);
  } catch {
    console.error(
      `functions: supabase/config.toml declares ${name} but ${url.pathname} is missing`,
    );
    Deno.exit(78);
  }
  const module = await import(url.href) as FunctionModule;
  try {
    apps.set(
      name,
      module.createApp(loadEnv(module.envSchema, Deno.env.toObject())),
    );
  } catch (error) {
    console.error(
      `functions: ${name}: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(78); // EX_CONFIG: the stack reports it and stops
  }
}

Deno.serve({
  port,
  hostname: "127.0.0.1",
  onListen: () =>
    console.log(`functions: serving ${[...apps.keys()].join(", ")} on ${port}`),
}, (request) => {
  const name = new URL(request.url).pathname.split("/")[1] ?? "";
  const app = apps.get(name);
  if (!app) {
    return Response.json({
      code: "NOT_FOUND",
      message: "Requested function was not found",
    }, {
      status: 404,
    });
  }
  return app.fetch(request);
});

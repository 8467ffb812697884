import { loadEnv } from "../_shared/env.ts";
import { createApp, envSchema } from "./app.ts";

Deno.serve(createApp(loadEnv(envSchema, Deno.env.toObject())).fetch);

import { loadEnv } from "../_shared/env.ts";
import { createApp } from "./app.ts";

Deno.serve(createApp(loadEnv(Deno.env.toObject())).fetch);

// The migrations as a whole: re-applying them changes nothing, the Supabase advisors find nothing,
// and the committed database types match them.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM module of the local stack
import { generateTypes, TYPES_FILE } from "../../local/commands/gen-types.mjs";
import { stack } from "../support/stack.ts";

const root = resolve(import.meta.dirname, "..", "..");

function supabase(...args: string[]) {
  const result = spawnSync(join(root, "node_modules", ".bin", "supabase"), args, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, PGSSLMODE: "disable", SUPABASE_TELEMETRY_DISABLED: "1" },
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe("migrations", () => {
  it("a second `supabase migration up` is a no-op", () => {
    const { status, output } = supabase("migration", "up", `--remote=${stack.dbUrl}`, "--yes", "--workdir", root);
    expect(status).toBe(0);
    expect(output).toContain("Remote database is up to date.");
    expect(output).not.toContain("Applying migration");
  });

  it("`supabase db advisors` (security and performance) reports no WARN or ERROR", () => {
    const { status, output } = supabase("db", "advisors", `--remote=${stack.dbUrl}`, "--type", "all", "--level", "warn");
    expect(output).toContain("No issues found");
    expect(status).toBe(0);
  });

  it("the committed database types match the migrations (`npm run gen:types` regenerates them)", () => {
    const committed = readFileSync(join(root, TYPES_FILE), "utf8");
    expect(generateTypes(root, stack.dbUrl)).toBe(committed);
  });
});

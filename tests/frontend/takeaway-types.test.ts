// The types a frontend takes away (types/: database.types.ts, constants.ts, functions.ts) are
// generated (`npm run gen:types`) and current, and a strict TypeScript frontend that imports only
// them and the browser clients compiles (tests/frontend/app.ts).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM module of the developer commands
import { generateTakeaway, TAKEAWAY_DIR, TAKEAWAY_FILES } from "../../local/commands/gen-types.mjs";
import { stack } from "../support/stack.ts";

const root = join(import.meta.dirname, "..", "..");

describe("the takeaway types (types/)", () => {
  it("match the database, the errors catalogue and the OpenAPI documents (`npm run gen:types` regenerates them)", async () => {
    const generated: Record<string, string> = await generateTakeaway(root, stack.dbUrl);
    expect(Object.keys(generated).sort()).toEqual([...TAKEAWAY_FILES].sort());
    for (const name of TAKEAWAY_FILES) {
      expect(readFileSync(join(root, TAKEAWAY_DIR, name), "utf8"), `${TAKEAWAY_DIR}/${name}`).toBe(generated[name]);
    }
  });

  it("import nothing, so a frontend can copy the folder", () => {
    for (const name of TAKEAWAY_FILES) {
      expect(readFileSync(join(root, TAKEAWAY_DIR, name), "utf8")).not.toMatch(/^\s*import\s/m);
    }
  });

  it("compile in a strict frontend project outside the functions folder (tsc --strict --noEmit)", () => {
    const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(root, "tests", "frontend", "tsconfig.json")], {
      cwd: root,
      encoding: "utf8",
    });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });
});

// docs/data-api.md is generated from the database (npm run gen:docs): it must match the migrations.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM module of the developer commands
import { DATA_API_DOC, generateDataApiDoc } from "../../local/commands/gen-docs.mjs";
import { stack } from "../support/stack.ts";

const root = join(import.meta.dirname, "..", "..");

describe("docs/data-api.md", () => {
  it("matches the database's grants, policies and functions (`npm run gen:docs` regenerates it)", async () => {
    const committed = readFileSync(join(root, DATA_API_DOC), "utf8");
    expect(committed).toBe(await generateDataApiDoc(stack.dbUrl));
  });

  it("shows what each role may do, by name", () => {
    const page = readFileSync(join(root, DATA_API_DOC), "utf8");
    // A spot check that the page says what matters: anon reads only the pricing page.
    expect(page).toMatch(/### `credit_packages`[\s\S]*?\| anon \| yes/);
    expect(page).toMatch(/### `real_users`[\s\S]*?\| anon \| – \| – \| – \| – \|/);
  });
});

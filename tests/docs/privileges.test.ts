// Every role's effective privileges (what Postgres answers for has_*_privilege, PUBLIC and role
// membership included) on every table, column and function of `public` are what docs/data-api.md
// says, and nothing is granted by default: hosted Supabase gives new objects in public no
// privileges since October 2026, and the local bootstrap reproduces that.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { closeDb, db } from "../support/stack.ts";

const root = join(import.meta.dirname, "..", "..");
const ROLES = ["anon", "authenticated", "service_role"] as const;
const PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"] as const;

type Cell = "yes" | "no" | string[];

/** The per-role table of each `### \`table\`` section: role -> privilege -> yes, no or columns. */
function documentedTables(page: string): Map<string, Map<string, Map<string, Cell>>> {
  const tables = new Map<string, Map<string, Map<string, Cell>>>();
  const sections = page.split(/^### `/m).slice(1);
  for (const section of sections) {
    const name = section.slice(0, section.indexOf("`"));
    const roles = new Map<string, Map<string, Cell>>();
    for (const line of section.split("\n")) {
      const match = /^\| (anon|authenticated|service_role) \| (.*) \|$/.exec(line);
      if (!match) continue;
      const cells = match[2].split(" | ").map((cell): Cell =>
        cell === "yes" ? "yes" : cell === "–" ? "no" : [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1])
      );
      roles.set(match[1], new Map(PRIVILEGES.map((p, i) => [p, cells[i]])));
    }
    tables.set(name, roles);
  }
  return tables;
}

/** `name(args)` -> the roles that may call it, from the functions table. */
function documentedFunctions(page: string): Map<string, string[]> {
  const functions = new Map<string, string[]>();
  for (const match of page.matchAll(/^\| `([a-z_0-9]+\(.*?\))` \| .* \| (.+) \|$/gm)) {
    functions.set(match[1], match[2].startsWith("nobody") ? [] : match[2].split(", "));
  }
  return functions;
}

const page = readFileSync(join(root, "docs", "data-api.md"), "utf8");

afterAll(closeDb);

describe("privileges of the Data API roles", () => {
  it("every table, column and privilege of each role is what docs/data-api.md says", async () => {
    const documented = documentedTables(page);
    const { rows: tables } = await db().query(`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'v', 'm', 'p') order by 1`);
    expect(tables.map((t) => t.name).sort()).toEqual([...documented.keys()].sort());
    const mismatches: string[] = [];
    for (const { name } of tables) {
      const { rows: columns } = await db().query(
        `select attname::text as name from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped`,
        [`public.${name}`],
      );
      for (const role of ROLES) {
        for (const privilege of PRIVILEGES) {
          const expected = documented.get(name)?.get(role)?.get(privilege);
          const { rows: [actual] } = await db().query(
            `select has_table_privilege($1, $2::regclass, $3) as whole,
                    array(select c from unnest($4::text[]) as c
                           where $3 <> 'DELETE' and has_column_privilege($1, $2::regclass, c, $3)) as columns`,
            [role, `public.${name}`, privilege, columns.map((c) => c.name)],
          );
          const got: Cell = actual.whole ? "yes" : actual.columns.length ? [...actual.columns].sort() : "no";
          const want = Array.isArray(expected) ? [...expected].sort() : expected;
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            mismatches.push(`${role} ${privilege} on ${name}: database ${JSON.stringify(got)}, docs ${JSON.stringify(want)}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("every function of public is callable by exactly the roles docs/data-api.md names", async () => {
    const documented = documentedFunctions(page);
    const { rows } = await db().query(`
      select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as signature,
             array(select r from unnest($1::text[]) as r where has_function_privilege(r, p.oid, 'execute')) as roles
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public' and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype
         and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`, [ROLES]);
    expect(rows.length).toBeGreaterThan(20);
    const mismatches = rows
      .filter((row) => JSON.stringify(row.roles) !== JSON.stringify(documented.get(row.signature)))
      .map((row) => `${row.signature}: database ${row.roles.join(", ") || "nobody"}, docs ${documented.get(row.signature)}`);
    expect(mismatches).toEqual([]);
    expect(rows.length).toBe(documented.size);
  });

  it("no sequence in public is usable by an API role", async () => {
    const { rows } = await db().query(`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'S'
         and (has_sequence_privilege('anon', c.oid, 'usage') or has_sequence_privilege('authenticated', c.oid, 'usage'))`);
    expect(rows).toEqual([]);
  });

  it("a new table, function or sequence in public gets no privilege for anon, authenticated or service_role", async () => {
    const client = await db().connect();
    try {
      await client.query("begin");
      await client.query("create table public.defaults_probe (id int)");
      await client.query("create sequence public.defaults_probe_seq");
      await client.query("create function public.defaults_probe_fn() returns int language sql as 'select 1'");
      const { rows: [row] } = await client.query(`
        select array(select r from unnest($1::text[]) as r
                      where has_table_privilege(r, 'public.defaults_probe', 'select, insert, update, delete')) as tables,
               array(select r from unnest($1::text[]) as r
                      where has_sequence_privilege(r, 'public.defaults_probe_seq', 'usage, select, update')) as sequences,
               (select coalesce(array_agg(a.grantee::regrole::text), '{}') from pg_proc p, aclexplode(p.proacl) a
                 where p.proname = 'defaults_probe_fn' and a.grantee::regrole::text = any($1)) as functions`, [ROLES]);
      expect(row).toEqual({ tables: [], sequences: [], functions: [] });
    } finally {
      await client.query("rollback");
      client.release();
    }
  });
});

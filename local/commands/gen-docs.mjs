// docs/data-api.md: what each API role can reach through the Data API, read from the database
// itself (grants, Row Level Security policies, function privileges), so the page cannot drift from
// the migrations. Used by `npm run gen:docs` and by the test that fails when the committed page is
// stale.
import { join } from "node:path";
import pg from "pg";

export const DATA_API_DOC = join("docs", "data-api.md");

const ROLES = ["anon", "authenticated", "service_role"];
const PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"];

const HEADER = `# The Data API, per role

Generated from the database by \`npm run gen:docs\` (a test fails when this page is stale). The
Data API is PostgREST at \`/rest/v1\`; it exposes the \`public\` schema. Every table has Row Level
Security on: a privilege below lets a role try, and the policies decide which rows it sees or
changes. The roles are those of the API keys and tokens:

- \`anon\`: the publishable key (or the legacy anon key) with no user signed in;
- \`authenticated\`: a signed-in user's access token. Real users, operators and admins all use this
  role; the policies and functions tell them apart (\`api_private.is_real_user()\`,
  \`api_private.is_operator()\`, \`api_private.is_admin()\`, callable as \`rpc('is_admin')\` …),
  so the policy names say who may do what;
- \`service_role\`: the secret key (or the legacy service-role key); it bypasses RLS. Server code
  only, never a browser.

Functions are called as \`POST /rest/v1/rpc/<name>\` with a JSON object of the parameters. Errors
are listed in [errors.md](errors.md); the chat states in [lifecycle.md](lifecycle.md); the Edge
Functions in [functions.md](functions.md).
`;

/** Reads the privileges, policies and functions of `public` and renders the page. */
export async function generateDataApiDoc(dbUrl) {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const tables = (await client.query(`
      select c.relname as name, c.relrowsecurity as rls, c.relkind as kind,
             coalesce(obj_description(c.oid, 'pg_class'), '') as comment
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'v', 'm', 'p')
       order by c.relname`)).rows;
    const privileges = (await client.query(`
      select table_name, grantee, privilege_type
        from information_schema.role_table_grants
       where table_schema = 'public' and grantee = any($1)`, [ROLES])).rows;
    const columnPrivileges = (await client.query(`
      select table_name, grantee, privilege_type, array_agg(column_name::text order by column_name) as columns
        from information_schema.column_privileges
       where table_schema = 'public' and grantee = any($1)
       group by table_name, grantee, privilege_type`, [ROLES])).rows;
    const columns = (await client.query(`
      select table_name, count(*)::int as n from information_schema.columns
       where table_schema = 'public' group by table_name`)).rows;
    const policies = (await client.query(`
      select tablename, policyname, cmd, roles::text[] as roles
        from pg_policies where schemaname = 'public' order by tablename, policyname`)).rows;
    const functions = (await client.query(`
      select p.proname as name, pg_get_function_identity_arguments(p.oid) as args,
             pg_get_function_result(p.oid) as result,
             array(select r from unnest($1::text[]) as r where has_function_privilege(r, p.oid, 'execute')) as roles
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public' and p.prokind = 'f'
         and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
         and p.prorettype <> 'trigger'::regtype
       order by p.proname, args`, [ROLES])).rows;

    const columnCount = new Map(columns.map((c) => [c.table_name, c.n]));
    const lines = [HEADER, "## Tables", ""];
    for (const table of tables) {
      lines.push(`### \`${table.name}\``, "");
      if (table.comment) lines.push(oneLine(table.comment), "");
      lines.push(`RLS: ${table.rls ? "on" : "**off**"}.`, "");
      lines.push("| role | " + PRIVILEGES.map((p) => p.toLowerCase()).join(" | ") + " |");
      lines.push("|---|" + PRIVILEGES.map(() => "---").join("|") + "|");
      for (const role of ROLES) {
        const cells = PRIVILEGES.map((privilege) => {
          if (privileges.some((p) => p.table_name === table.name && p.grantee === role && p.privilege_type === privilege)) {
            return "yes";
          }
          const partial = columnPrivileges.find((p) =>
            p.table_name === table.name && p.grantee === role && p.privilege_type === privilege
          );
          if (partial && partial.columns.length < (columnCount.get(table.name) ?? 0)) {
            return `only ${partial.columns.map((c) => `\`${c}\``).join(", ")}`;
          }
          return partial ? "yes" : "–";
        });
        lines.push(`| ${role} | ${cells.join(" | ")} |`);
      }
      const own = policies.filter((p) => p.tablename === table.name);
      lines.push("");
      if (own.length) {
        lines.push("Policies:", "");
        for (const p of own) lines.push(`- ${p.policyname} (${p.cmd.toLowerCase()}, ${p.roles.join(", ")})`);
      } else {
        lines.push(table.rls ? "No policy: only `service_role` reaches its rows." : "No policy.");
      }
      lines.push("");
    }
    lines.push("## Functions (`/rest/v1/rpc/<name>`)", "");
    lines.push("| function | returns | callable by |", "|---|---|---|");
    for (const fn of functions) {
      const roles = fn.roles.length ? fn.roles.join(", ") : "nobody (internal)";
      lines.push(`| \`${fn.name}(${fn.args})\` | \`${fn.result.replace(/\|/g, "\\|")}\` | ${roles} |`);
    }
    lines.push("");
    return lines.join("\n");
  } finally {
    await client.end();
  }
}

const oneLine = (text) => text.replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();

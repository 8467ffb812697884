// docs/data-api.md: what each API role can reach through the Data API, read from the database
// itself (grants, Row Level Security policies, function privileges), so the page cannot drift from
// the migrations. Used by `npm run gen:docs` and by the test that fails when the committed page is
// stale.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

export const DATA_API_DOC = join("docs", "data-api.md");
/** What each RPC is for and the shape of its jsonb answer: the one thing the catalog cannot say. */
export const RPC_ANSWERS = join("docs", "rpc-answers.json");

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

Each table lists its columns: the type, whether an insert must give it (\`required\`: not null and
no default), its default, and the values its check constraints allow (a value outside them is
\`400\`, SQLSTATE \`23514\`; a missing required column \`400\`, \`23502\`). Which of them a role may
write is in the privileges table below it.

Functions are called as \`POST /rest/v1/rpc/<name>\` with a JSON object of the parameters (a
parameter with a default may be left out; an unknown or missing one is \`404 PGRST202\`). Each is
listed with its parameters, who may call it, what it is for and the shape of its answer (from
[rpc-answers.json](rpc-answers.json), checked against the stack by \`tests/docs/contract.test.ts\`).
Errors are listed in [errors.md](errors.md): a refusal's code is the error's \`message\`. A
\`42501\` refusal (\`forbidden\`, a missing privilege) is \`403\` for a signed-in user but \`401\`
without one: PostgREST, hosted or local, answers \`401\` when the role is \`anon\`. The chat states
are in [lifecycle.md](lifecycle.md); the Edge Functions in [functions.md](functions.md); TypeScript
types of all of it in [../types/](../types/) (\`npm run gen:types\`).
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
    const tableColumns = (await client.query(`
      select c.relname as table_name, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
             a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default_value,
             a.attidentity <> '' or a.attgenerated <> '' as generated,
             coalesce(col_description(c.oid, a.attnum), '') as comment
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
       where n.nspname = 'public' and c.relkind in ('r', 'v', 'm', 'p') and a.attnum > 0 and not a.attisdropped
       order by c.relname, a.attnum`)).rows;
    const checks = (await client.query(`
      select c.relname as table_name, pg_get_constraintdef(k.oid) as def,
             array(select a.attname::text from pg_attribute a where a.attrelid = k.conrelid and a.attnum = any(k.conkey)) as columns
        from pg_constraint k join pg_class c on c.oid = k.conrelid
       where k.contype = 'c' and k.connamespace = 'public'::regnamespace
       order by c.relname, k.conname`)).rows;
    const parameters = (await client.query(`
      select p.proname as name, pg_get_function_identity_arguments(p.oid) as identity,
             pg_get_function_arguments(p.oid) as args, pg_get_function_result(p.oid) as result,
             p.proretset as set_returning, t.typrelid <> 0 as composite, t.typname as result_type
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_type t on t.oid = p.prorettype
       where n.nspname = 'public' and p.prokind = 'f'`)).rows;
    const answers = JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", RPC_ANSWERS), "utf8"));

    const columnCount = new Map(columns.map((c) => [c.table_name, c.n]));
    const lines = [HEADER, "## Tables", ""];
    for (const table of tables) {
      lines.push(`### \`${table.name}\``, "");
      if (table.comment) lines.push(oneLine(table.comment), "");
      lines.push(...columnTable(table.name, tableColumns, checks));
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
    for (const fn of functions) {
      const detail = parameters.find((p) => p.name === fn.name && p.identity === fn.args);
      lines.push(...functionSection(fn, detail, answers[fn.name], tableColumns));
    }
    const undocumented = Object.keys(answers).filter((name) => !name.startsWith("$") && !functions.some((f) => f.name === name));
    if (undocumented.length) throw new Error(`${RPC_ANSWERS} names functions the database does not have: ${undocumented.join(", ")}`);
    return lines.join("\n");
  } finally {
    await client.end();
  }
}

const oneLine = (text) => text.replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();

/** The columns of a table: type, whether an insert needs it, default, allowed values. */
function columnTable(tableName, tableColumns, checks) {
  const columns = tableColumns.filter((c) => c.table_name === tableName);
  const own = checks.filter((k) => k.table_name === tableName);
  const lines = ["| column | type | on insert | default | allowed values; notes |", "|---|---|---|---|---|"];
  for (const column of columns) {
    const required = column.not_null && column.default_value === null && !column.generated;
    const allowed = own.filter((k) => k.columns.length === 1 && k.columns[0] === column.name).map((k) => checkText(k.def));
    const note = column.comment ? `${allowed.length ? "; " : ""}${oneLine(column.comment)}` : "";
    lines.push(
      `| \`${column.name}\` | ${column.type.replace("timestamp with time zone", "timestamptz")}${column.not_null ? "" : ", null"} | ${required ? "**required**" : "optional"} | ` +
        `${column.default_value === null ? "" : `\`${cell(column.default_value)}\``} | ${allowed.join("; ")}${note} |`,
    );
  }
  lines.push("");
  const multi = own.filter((k) => k.columns.length !== 1);
  if (multi.length) {
    lines.push("Checks across columns: " + multi.map((k) => checkText(k.def)).join("; ") + ".", "");
  }
  return lines;
}

/** A check constraint as a reader writes it: `one of 'a', 'b'`, `18 ≤ age ≤ 100`, or its SQL. */
function checkText(def) {
  const body = def.replace(/^CHECK \((.*)\)$/s, "$1");
  const anyOf = /^\(?\(?([a-z_0-9]+)\)? = ANY \(ARRAY\[(.*)\]\)\)$/.exec(body);
  if (anyOf) return "one of " + [...anyOf[2].matchAll(/'((?:[^']|'')*)'::text/g)].map((m) => `\`${m[1]}\``).join(", ");
  return `\`${cell(body.replace(/::(text|numeric|interval)\b/g, "").replace(/^\((.*)\)$/s, "$1"))}\``;
}

/** A function's parameters, callers, purpose and answer. */
function functionSection(fn, detail, declared, tableColumns) {
  const lines = [`### Function \`${fn.name}\``, ""];
  if (declared?.about) lines.push(declared.about, "");
  const args = detail?.args ? detail.args.split(/, (?=p_|[a-z_]+ )/) : [];
  if (args.length) {
    lines.push("| parameter | type | default |", "|---|---|---|");
    for (const arg of args) {
      const match = /^([a-z_0-9]+) (.+?)(?: DEFAULT (.+))?$/.exec(arg);
      if (!match) continue;
      lines.push(`| \`${match[1]}\` | ${match[2]} | ${match[3] === undefined ? "**required**" : `\`${cell(sqlDefault(match[3]))}\``} |`);
    }
    lines.push("");
  } else {
    lines.push("No parameters (`{}`).", "");
  }
  lines.push(`Callable by: ${fn.roles.length ? fn.roles.join(", ") : "nobody (internal)"}.`, "");
  if (declared?.answer) {
    lines.push("Answer:", "", "```", shape(declared.answer, ""), "```", "");
  } else if (detail?.composite && !detail.result.startsWith("TABLE")) {
    const cols = tableColumns.filter((c) => c.table_name === detail.result_type).map((c) => c.name);
    lines.push(`Answer: ${detail.set_returning ? "rows" : "one row"} of \`${detail.result_type}\` (${cols.map((c) => `\`${c}\``).join(", ")}).`, "");
  } else if (detail?.result.startsWith("TABLE")) {
    lines.push(`Answer: an array of rows \`{${cell(detail.result.slice(6, -1))}}\`.`, "");
  } else {
    lines.push(`Answer: \`${cell(fn.result)}\`.`, "");
  }
  if (fn.result === "jsonb" && !declared?.answer) {
    throw new Error(`${fn.name} answers jsonb: declare its shape in ${RPC_ANSWERS}`);
  }
  return lines;
}

/** The declared shape as indented pseudo-JSON. */
function shape(node, indent) {
  const next = indent + "  ";
  if (Array.isArray(node)) return `[${shape(node[0], indent)}, …]`;
  if (node && typeof node === "object") {
    const entries = Object.entries(node).filter(([key]) => !key.startsWith("$"));
    const body = entries.map(([key, value]) => `${next}"${key}": ${shape(value, next)}`).join(",\n");
    return `{\n${body}\n${indent}}${node.$nullable ? " | null" : ""}`;
  }
  return String(node);
}

const cell = (text) => text.replace(/\|/g, "\\|");

/** A parameter default as JSON would say it: `null`, `'webhook'`, `20`, `now()`. */
const sqlDefault = (text) => text.replace(/^NULL::.*$/, "null").replace(/::(text|jsonb|uuid|integer|boolean)$/, "");

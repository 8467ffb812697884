// What the benchmark measures on: accounts, profiles, chats and the queue, created set-based as the
// superuser in the throwaway database, plus the scratch schema `bench` (never in migrations) that
// holds the ceilings: plain copies of the tables a hot path writes (same columns, indexes, checks
// and foreign keys between them; no triggers, no RLS) and hand-written plain-SQL functions doing
// the same row writes as the real path with no checks.
import { progressLine } from "./lib/stats.mjs";

/** request.jwt.claims of a signed-in user, as PostgREST sets them from the access token. */
export const claims = (userId) => JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" });

/** Prints a progress bar on stderr: redrawn in place on a terminal, one line per step otherwise. */
export function progress(label, done, total) {
  const line = progressLine(label, done, total);
  if (process.stderr.isTTY) process.stderr.write(`\r${line}${done >= total ? "\n" : ""}`);
  else process.stderr.write(`${line}\n`);
}

/**
 * Runs `sql(from, to)` for consecutive batches of rows 1…total (after `start`), with a progress
 * bar. The inserts run with session_replication_role = replica (no triggers, as a restore loads a
 * table): the rows are made valid by construction.
 */
export async function loadInBatches(db, label, { start = 0, total, batch }, sql) {
  await db.query("set session_replication_role = replica");
  try {
    progress(label, 0, total - start);
    for (let from = start + 1; from <= total; from += batch) {
      const to = Math.min(total, from + batch - 1);
      await db.query(sql(from, to));
      progress(label, to - start, total - start);
    }
  } finally {
    await db.query("set session_replication_role = origin");
  }
}

/**
 * The fixtures every section shares. `size`: {clients, operators, queueUsers (x 100 profiles =
 * waiting chats), longChatMessages}. Returns ids the sections use.
 */
export async function createFixtures(db, size) {
  const { clients, operators, queueUsers, longChatMessages } = size;
  await db.query(`
    insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
    select gen_random_uuid(), 'authenticated', 'authenticated', format('bench-%s-%s@bench.local', kind, n), now(),
           '{"provider":"email"}', jsonb_build_object('persona', kind)
      from (values ('operator', ${operators}), ('queue', ${queueUsers}), ('writer', ${clients})) k(kind, total),
           generate_series(1, k.total) n;

    -- Five languages (SPEC 17): operator n writes one of them, every other one English too.
    insert into public.operators (id, email, name, status, max_concurrent_chats, languages)
    select id, email, 'Bench ' || split_part(email, '@', 1), 'available', 1000,
           (array['{en}', '{fr,en}', '{de}', '{es,en}', '{pt}'])[n % 5 + 1]::text[]
      from (select id, email, row_number() over (order by email) as n
              from auth.users where email like 'bench-operator-%') o;

    insert into public.real_users (id, email, display_name, age, gender, looking_for, credits)
    select id, email, 'Bench ' || split_part(email, '@', 1), 30, 'male', 'female',
           case when email like 'bench-writer-%' then 1000000000 else 0 end
      from auth.users where email like 'bench-queue-%' or email like 'bench-writer-%';

    insert into public.fictional_users (name, age, gender, bio, interests, is_featured, language)
    select format('Bench Profile %s', lpad(n::text, 3, '0')), 20 + n % 40, 'female', 'A profile for benchmarks.',
           '{bench}'::text[], n % 10 = 0, (array['en', 'fr', 'de', 'es', 'pt'])[n % 5 + 1]
      from generate_series(1, 100) n
    union all
    select 'Bench Long Chats', 30, 'female', 'Holds the long chats of the message benchmark.', '{bench}', false, 'en';

    -- The queue: every queue user with every bench profile, waiting, with distinct queued_at.
    insert into public.chats (real_user_id, fictional_user_id, status, queued_at)
    select r.id, f.id, 'waiting',
           now() - interval '1 hour' + row_number() over (order by r.email, f.name) * interval '1 ms'
      from public.real_users r cross join public.fictional_users f
     where r.email like 'bench-queue-%' and f.name like 'Bench Profile %';

    -- The writers' short chats (idle until their first message) and one long chat each.
    insert into public.chats (real_user_id, fictional_user_id)
    select r.id, f.id
      from public.real_users r
      cross join lateral (
        select f.id from public.fictional_users f where f.name like 'Bench Profile %'
         order by f.name limit 20) f
     where r.email like 'bench-writer-%';
    insert into public.chats (real_user_id, fictional_user_id, status, queued_at)
    select r.id, f.id, 'waiting', now() - interval '2 hours'
      from public.real_users r, public.fictional_users f
     where r.email like 'bench-writer-%' and f.name = 'Bench Long Chats';

    insert into public.favorites (real_user_id, fictional_user_id)
    select r.id, f.id
      from public.real_users r
      cross join lateral (select f.id from public.fictional_users f where f.name like 'Bench Profile 01%' limit 5) f
     where r.email like 'bench-writer-%';

    -- The trivial RPC of the Data API baselines (public: PostgREST exposes it).
    create function public.bench_noop() returns integer language sql stable as 'select 1';
    grant execute on function public.bench_noop() to authenticated;
  `);

  // History of the long chats, written without triggers (as a restore would) to keep set-up short.
  await db.query("set session_replication_role = replica");
  await db.query(`
    insert into public.messages (chat_id, sender_type, content, created_at)
    select c.id, case when n % 2 = 0 then 'real' else 'fictional' end, 'earlier message ' || n,
           now() - interval '2 hours' + n * interval '1 ms'
      from public.chats c
      join public.fictional_users f on f.id = c.fictional_user_id and f.name = 'Bench Long Chats',
           generate_series(1, ${longChatMessages * 2}) n;
    update public.chats c set message_count = ${longChatMessages * 2}, last_message_at = now()
      from public.fictional_users f where f.id = c.fictional_user_id and f.name = 'Bench Long Chats';
  `);
  await db.query("set session_replication_role = origin");

  await createScratchSchema(db, size);
  await db.query("vacuum analyze");
  await db.query("notify pgrst, 'reload schema'");

  const rows = async (sql) => (await db.query(sql)).rows;
  const [{ queued }] = await rows(`
    select count(*)::int as queued from public.chats c join public.real_users r on r.id = c.real_user_id
     where r.email like 'bench-queue-%' and c.status = 'waiting'`);
  if (queued !== queueUsers * 100) throw new Error(`expected ${queueUsers * 100} waiting bench chats, found ${queued}`);
  return {
    operators: await rows("select id, email from public.operators where email like 'bench-operator-%' order by email"),
    writers: await rows("select id, email from public.real_users where email like 'bench-writer-%' order by email"),
  };
}

/**
 * Schema `bench`: lookup tables that pgbench scripts read by :client_id, the plain tables of the
 * bare primitives, and the same-work ceilings.
 */
async function createScratchSchema(db, { clients, queueUsers }) {
  await db.query(`
    create schema bench;
    grant usage on schema bench to authenticated;

    -- Who each pgbench client acts as: operator n (0-based), writer n and its chats.
    create table bench.operator_ids as
      select (row_number() over (order by email) - 1)::int as n, id,
             json_build_object('sub', id, 'role', 'authenticated', 'aud', 'authenticated')::text as claims
        from public.operators where email like 'bench-operator-%';
    alter table bench.operator_ids add primary key (n);
    create table bench.writer_ids as
      select (row_number() over (order by email) - 1)::int as n, id,
             json_build_object('sub', id, 'role', 'authenticated', 'aud', 'authenticated')::text as claims
        from public.real_users where email like 'bench-writer-%';
    alter table bench.writer_ids add primary key (n);
    create table bench.writer_chats as
      select w.n, (row_number() over (partition by w.n order by f.name = 'Bench Long Chats', f.name) - 1)::int as k, c.id as chat_id,
             f.name = 'Bench Long Chats' as long
        from bench.writer_ids w join public.chats c on c.real_user_id = w.id
        join public.fictional_users f on f.id = c.fictional_user_id;
    alter table bench.writer_chats add primary key (n, k);
    grant select on bench.operator_ids, bench.writer_ids, bench.writer_chats to authenticated;

    -- Bare primitives: plain tables without triggers, RLS, foreign keys or extra indexes (the queue
    -- keeps the partial index a dequeue needs, like idx_chats_assignment_queue).
    create table bench.plain_queue (
      id uuid primary key default gen_random_uuid(),
      status text not null,
      queued_at timestamptz not null
    );
    create index on bench.plain_queue (queued_at, id) where status = 'waiting';
    insert into bench.plain_queue (status, queued_at)
    select 'waiting', now() - interval '1 hour' + n * interval '1 ms' from generate_series(1, ${queueUsers * 100}) n;

    create table bench.plain_messages (
      id uuid primary key default gen_random_uuid(),
      chat_id uuid not null,
      sender_type text not null check (sender_type in ('real', 'fictional')),
      content text not null check (char_length(content) between 1 and 5000),
      credits_charged integer not null default 0 check (credits_charged >= 0),
      created_at timestamptz not null default now()
    );
  `);

  // Same-work tables: copies of the tables the hot paths write, with their data, columns, defaults,
  // checks and indexes (like … including all), and the foreign keys among them; no triggers or RLS.
  const copied = ["real_users", "operators", "chats", "chat_assignments", "operator_activity", "messages"];
  for (const table of copied) {
    await db.query(`create table bench.${table} (like public.${table} including all)`);
    await db.query(`insert into bench.${table} select * from public.${table}`);
  }
  await db.query("set search_path = pg_catalog"); // schema-qualified names from pg_get_constraintdef
  const { rows: fks } = await db.query(`
    select c.conrelid::regclass::text as tbl, c.conname, pg_get_constraintdef(c.oid) as def
      from pg_constraint c
     where c.contype = 'f' and c.conrelid::regclass::text = any($1)`, [copied.map((t) => `public.${t}`)]);
  await db.query("reset search_path");
  for (const { tbl, conname, def } of fks) {
    const local = def.replace(/REFERENCES public\.(\w+)/, (m, t) => (copied.includes(t) ? `REFERENCES bench.${t}` : m));
    await db.query(`alter table ${tbl.replace("public.", "bench.")} add constraint ${conname} ${local}`);
  }

  await db.query(`
    -- Same work as assign_chat_to_operator, no checks: dequeue the oldest waiting chat with skip
    -- locked, mark it assigned, write the assignment and activity rows, touch the operator.
    create function bench.assign_same_work(p_operator_id uuid) returns uuid language plpgsql as $$
    declare
      v_chat_id uuid;
    begin
      select c.id into v_chat_id from bench.chats c
       where c.status = 'waiting' order by c.queued_at, c.id limit 1 for update skip locked;
      if v_chat_id is null then
        return null;
      end if;
      update bench.chats c set status = 'assigned' where c.id = v_chat_id;
      insert into bench.chat_assignments (chat_id, operator_id, assigned_at) values (v_chat_id, p_operator_id, now());
      insert into bench.operator_activity (operator_id, chat_id, assigned_at, last_activity_at)
      values (p_operator_id, v_chat_id, now(), now());
      update bench.operators o set last_activity_at = now() where o.id = p_operator_id;
      return v_chat_id;
    end;
    $$;

    -- Same work as a charged real-user message, no checks: insert it, take one credit from the
    -- user, bump the chat's counters (and queue it, as the trigger of 008 does).
    create function bench.send_same_work(p_chat_id uuid, p_content text) returns void language plpgsql as $$
    declare
      v_real_user_id uuid;
    begin
      select c.real_user_id into v_real_user_id from bench.chats c where c.id = p_chat_id;
      update bench.real_users r set credits = r.credits - 1 where r.id = v_real_user_id;
      insert into bench.messages (chat_id, sender_type, content, credits_charged) values (p_chat_id, 'real', p_content, 1);
      update bench.chats c
         set message_count = c.message_count + 1, last_message_at = now(),
             status = case when c.status = 'idle' then 'waiting' else c.status end,
             queued_at = coalesce(c.queued_at, now())
       where c.id = p_chat_id;
    end;
    $$;
  `);
  const { rows: [{ n }] } = await db.query("select count(*)::int as n from bench.writer_chats where not long");
  if (n !== clients * 20) throw new Error(`expected ${clients * 20} short writer chats, found ${n}`);
}

/**
 * Pending payments of many buyers, as a live project receives them (one buyer's payments would all
 * wait on that buyer's row): `buyers` real users in `bench.buyers` (n, id) and, for each reference
 * prefix, `count` pending transactions `<prefix><n>`, transaction n belonging to buyer n mod buyers.
 */
export async function createPendingPayments(db, { buyers, count, prefixes }) {
  await db.query(`
    with u as (
      insert into auth.users (id, aud, role, email)
      select gen_random_uuid(), 'authenticated', 'authenticated', format('bench-buyer-%s@bench.local', n)
        from generate_series(0, ${buyers - 1}) n
      returning id, email)
    insert into public.real_users (id, email, display_name, age, gender, looking_for)
    select id, email, 'Bench Buyer', 30, 'male', 'female' from u;
    create table bench.buyers as
      select (row_number() over (order by email) - 1)::int as n, id
        from public.real_users where email like 'bench-buyer-%';`);
  await db.query(`
    insert into public.transactions (real_user_id, reference, package_id, amount, currency, credits)
    select b.id, p.prefix || lpad(g.n::text, 7, '0'), (select id from public.credit_packages order by price limit 1), 10000, 'KES', 10
      from generate_series(1, ${count}) g(n)
      join bench.buyers b on b.n = g.n % ${buyers}
      cross join unnest($1::text[]) p(prefix)`, [prefixes]);
}

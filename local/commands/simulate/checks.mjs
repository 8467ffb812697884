// What `npm run simulate` reads from the database at the end: the summary figures (one query
// each) and the invariants of the spec (one query each, returning the offending rows).
//
// Every query takes $1 = the real user ids and $2 = the operator ids it looks at: the run's own,
// or NULL for the whole database (`--all`). The ledger and pricing checks always take the run's
// users: seed data and test fixtures set credits and messages directly, as the superuser.
// They run as the database superuser (the stack's DB_URL), like the cron jobs and pgTAP.

const inUsers = (column) => `($1::uuid[] is null or ${column} = any($1::uuid[]))`;
const inOperators = (column) => `($2::uuid[] is null or ${column} = any($2::uuid[]))`;

/**
 * Runs one of the queries below with [user ids, operator ids], passing only the parameters its text
 * uses (Postgres refuses unused ones it cannot type).
 */
export function scopedQuery(db, sql, [users, operators]) {
  const usesUsers = sql.includes("$1");
  const usesOperators = sql.includes("$2");
  if (usesUsers && usesOperators) return db.query(sql, [users, operators]);
  if (usesOperators) return db.query(sql.replaceAll("$2", "$1"), [operators]);
  return db.query(sql, usesUsers ? [users] : []);
}

/** The run's chats (or every chat). */
const scopedChats = `select c.* from public.chats c where ${inUsers("c.real_user_id")}`;

/**
 * Summary figures: [label, sql]. Each query returns one row of named columns; `show` turns it into
 * the printed value(s): an array of [label, value] pairs.
 */
export const SUMMARY = [
  {
    sql: `select count(*)::int as n from public.real_users r where ${inUsers("r.id")}`,
    show: (r) => [["real users signed up", r.n]],
  },
  {
    sql: `select count(*)::int as n from public.operators o where ${inOperators("o.id")}`,
    show: (r) => [["operators", r.n]],
  },
  {
    sql: `select coalesce(jsonb_object_agg(status, n), '{}') as by_status, coalesce(sum(n), 0)::int as total
            from (select t.status, count(*)::int as n from public.transactions t
                   where ${inUsers("t.real_user_id")} group by t.status) s`,
    show: (r) => [
      ["purchases", r.total],
      ...Object.entries(r.by_status).sort().map(([status, n]) => [`  ${status}`, n]),
    ],
  },
  {
    sql: `select coalesce(sum(t.credits), 0)::int as credits, coalesce(sum(t.amount), 0)::bigint as amount,
                 coalesce(min(t.currency), '') as currency
            from public.transactions t where t.status = 'success' and ${inUsers("t.real_user_id")}`,
    show: (r) => [["credits sold", r.credits], ["  revenue", `${(Number(r.amount) / 100).toFixed(2)} ${r.currency}`.trim()]],
  },
  {
    sql: `select coalesce(sum(m.credits_charged), 0)::int as spent,
                 count(*) filter (where m.sender_type = 'real' and m.credits_charged = 0)::int as free
            from public.messages m join (${scopedChats}) c on c.id = m.chat_id`,
    show: (r) => [["credits spent", r.spent], ["free messages", r.free]],
  },
  {
    sql: `select count(*) filter (where m.sender_type = 'real')::int as real,
                 count(*) filter (where m.sender_type = 'fictional')::int as fictional
            from public.messages m join (${scopedChats}) c on c.id = m.chat_id`,
    show: (r) => [["messages from real users", r.real], ["messages from profiles (operators)", r.fictional]],
  },
  {
    sql: `select count(*)::int as chats, count(*) filter (where c.status = 'closed')::int as closed
            from (${scopedChats}) c`,
    show: (r) => [["chats", r.chats], ["  closed", r.closed]],
  },
  {
    // Time to first reply: from a chat's first real message to the first fictional one after it.
    sql: `with firsts as (
            select c.id,
                   (select min(m.created_at) from public.messages m
                     where m.chat_id = c.id and m.sender_type = 'real') as first_real
              from (${scopedChats}) c
          ), replies as (
            select f.id, extract(epoch from (
                     select min(m.created_at) from public.messages m
                      where m.chat_id = f.id and m.sender_type = 'fictional' and m.created_at > f.first_real
                   ) - f.first_real)::float8 as seconds
              from firsts f where f.first_real is not null
          )
          select percentile_cont(0.5) within group (order by seconds) as median,
                 percentile_cont(0.95) within group (order by seconds) as p95,
                 count(seconds)::int as answered, count(*)::int as started
            from replies`,
    show: (r, fmt) => [
      ["time to first reply, median", fmt.seconds(r.median)],
      ["time to first reply, p95", fmt.seconds(r.p95)],
      ["chats answered / with a real message", `${r.answered} / ${r.started}`],
    ],
  },
  {
    sql: `select coalesce(jsonb_object_agg(release_reason, n), '{}') as by_reason, coalesce(sum(n), 0)::int as total
            from (select a.release_reason, count(*)::int as n
                    from public.chat_assignments a join (${scopedChats}) c on c.id = a.chat_id
                   where a.release_reason not in ('completed', 'chat_closed')
                   group by a.release_reason) s`,
    show: (r) => [
      ["reassignments", r.total],
      ...Object.entries(r.by_reason).sort().map(([reason, n]) => [`  ${reason}`, n]),
    ],
  },
  {
    sql: `select count(*)::int as assignments,
                 count(*) filter (where a.release_reason = 'completed')::int as completed
            from public.chat_assignments a join (${scopedChats}) c on c.id = a.chat_id`,
    show: (r) => [["assignments", r.assignments], ["  released completed", r.completed]],
  },
  {
    // SPEC 17: an assignment that follows a release by which the previous operator may have it back
    // (completed, operator_offline, chat_closed) within settings.continuity_window.
    sql: `select count(*)::int as returns, count(*) filter (where p.operator_id = a.operator_id)::int as same
            from public.chat_assignments a
            join (${scopedChats}) c on c.id = a.chat_id
            join lateral (select p.operator_id, p.released_at, p.release_reason from public.chat_assignments p
                           where p.chat_id = a.chat_id and p.assigned_at < a.assigned_at
                           order by p.assigned_at desc limit 1) p on true
           where p.release_reason in ('completed', 'operator_offline', 'chat_closed')
             and a.assigned_at - p.released_at < (select s.continuity_window from public.settings s)`,
    show: (r) => [["returns within the continuity window", r.returns], ["  back to the same operator", r.same]],
  },
  {
    // A chat is flagged on its third reassignment (SPEC 3); cleared = flagged once, not any more.
    sql: `select count(*) filter (where c.reassignment_count >= 3)::int as raised,
                 count(*) filter (where c.reassignment_count >= 3 and not c.flagged_for_review)::int as cleared
            from (${scopedChats}) c`,
    show: (r) => [["flags raised", r.raised], ["flags cleared", r.cleared]],
  },
];

/**
 * The invariants: {name, sql, during}. Each query returns the offending rows (none = holds).
 * `during`: also checked after every tick of the run (structural ones, on live state), not only
 * at the end. `ledger`: checked over the run's users even with --all.
 */
export const INVARIANTS = [
  {
    name: "no chat has two open assignments",
    during: true,
    sql: `select a.chat_id, count(*)::int as open
            from public.chat_assignments a join (${scopedChats}) c on c.id = a.chat_id
           where a.released_at is null
           group by a.chat_id having count(*) > 1`,
  },
  {
    name: "assigned ⇔ exactly one open assignment",
    during: true,
    sql: `select c.id, c.status, count(a.id)::int as open
            from (${scopedChats}) c
            left join public.chat_assignments a on a.chat_id = c.id and a.released_at is null
           group by c.id, c.status
          having (c.status = 'assigned' and count(a.id) <> 1) or (c.status <> 'assigned' and count(a.id) > 0)`,
  },
  {
    name: "every open assignment has its activity row",
    during: true,
    sql: `select a.chat_id, a.operator_id
            from public.chat_assignments a join (${scopedChats}) c on c.id = a.chat_id
           where a.released_at is null
             and not exists (select 1 from public.operator_activity oa
                              where oa.chat_id = a.chat_id and oa.operator_id = a.operator_id)`,
  },
  {
    name: "no operator above max_concurrent_chats",
    during: true,
    sql: `select o.id, o.max_concurrent_chats, count(*)::int as held
            from public.operators o
            join public.chat_assignments a on a.operator_id = o.id and a.released_at is null
           where ${inOperators("o.id")}
           group by o.id, o.max_concurrent_chats
          having count(*) > o.max_concurrent_chats`,
  },
  {
    // SPEC 17: an operator is handed only chats whose profile's language it writes.
    name: "every chat held in a language its operator writes",
    during: true,
    sql: `select a.id, a.operator_id, f.language, o.languages
            from public.chat_assignments a
            join public.operators o on o.id = a.operator_id
            join public.chats c on c.id = a.chat_id
            join public.fictional_users f on f.id = c.fictional_user_id
           where ${inOperators("o.id")} and f.language <> all (o.languages)`,
  },
  {
    // SPEC 3: a real message to an idle chat makes it waiting with queued_at; queued_at stays the
    // oldest unanswered message until a fictional message answers it; a release puts a chat with
    // queued_at back to waiting. So an open chat whose newest message is an unanswered real one is
    // waiting or assigned, a waiting chat has queued_at, and queued_at is no later than the oldest
    // unanswered real message (else the chat lost its place).
    name: "no waiting chat lost",
    during: true,
    sql: `with open_chats as (
            select c.id, c.status, c.queued_at,
                   (select m.sender_type from public.messages m where m.chat_id = c.id
                     order by m.created_at desc, m.id desc limit 1) as last_sender,
                   (select min(m.created_at) from public.messages m
                     where m.chat_id = c.id and m.sender_type = 'real'
                       and m.created_at > coalesce((select max(f.created_at) from public.messages f
                                                     where f.chat_id = c.id and f.sender_type = 'fictional'),
                                                   '-infinity')) as oldest_unanswered
              from (${scopedChats}) c
             where c.status <> 'closed'
          )
          select id, status, queued_at, last_sender, oldest_unanswered from open_chats
           where (status = 'waiting' and queued_at is null)
              or (status = 'idle' and (queued_at is not null or last_sender = 'real'))
              or (status in ('waiting', 'assigned') and queued_at > oldest_unanswered)`,
  },
  {
    name: "credits never negative",
    during: true,
    sql: `select r.id, r.credits from public.real_users r where r.credits < 0 and ${inUsers("r.id")}`,
  },
  {
    name: "flagged chats have reassignment_count ≥ 3",
    during: true,
    sql: `select c.id, c.reassignment_count from (${scopedChats}) c
           where c.flagged_for_review and c.reassignment_count < 3`,
  },
  {
    // A settled purchase (success, or refunded after success) has exactly one 'credited' event;
    // a pending or failed one none.
    name: "each paid transaction credited exactly once",
    ledger: true,
    sql: `select t.reference, t.status, count(e.id)::int as credited
            from public.transactions t
            left join public.paystack_events e on e.reference = t.reference and e.outcome = 'credited'
           where ${inUsers("t.real_user_id")}
           group by t.reference, t.status
          having count(e.id) <> case when t.status in ('success', 'refunded') then 1 else 0 end`,
  },
  {
    // credits = purchases - message charges - refund reversals (+ admin adjustments, when
    // credit_adjustments exists: see ledgerSql).
    name: "credits = purchases − charges ± refunds/adjustments",
    ledger: true,
    sql: null, // built by ledgerSql once we know whether credit_adjustments exists
  },
  {
    // Recomputed with the database's own pricing (private.price_under): the first free_messages real messages of a
    // chat cost 0, later ones the price at their created_at; fictional messages cost 0.
    name: "messages.credits_charged matches pricing",
    ledger: true,
    sql: `with priced as (
            select m.id, m.sender_type, m.credits_charged, m.created_at, f.is_featured,
                   (row_number() over (partition by m.chat_id, m.sender_type order by m.created_at, m.id) - 1)::int as prior
              from public.messages m
              join public.chats c on c.id = m.chat_id
              join public.fictional_users f on f.id = c.fictional_user_id
             where ${inUsers("c.real_user_id")}
          )
          select id, sender_type, credits_charged, prior from priced
           where (sender_type = 'fictional' and credits_charged <> 0)
              or (sender_type = 'real' and credits_charged <> private.message_price(prior, created_at, is_featured))`,
  },
];

/** The run must leave nothing waiting or assigned (checked at the end, over the run's chats). */
export const LEFT_OPEN = {
  name: "the run left no chat waiting or assigned",
  ledger: true,
  sql: `select c.id, c.status from public.chats c
         where ${inUsers("c.real_user_id")} and c.status in ('waiting', 'assigned')`,
};

/**
 * The ledger query. `adjustments`: how to read admin credit adjustments, when the table exists:
 * {table, userColumn, deltaColumn}, else null.
 */
export function ledgerSql(adjustments) {
  const adjusted = adjustments
    ? `+ coalesce((select sum(x.${adjustments.deltaColumn}) from public.${adjustments.table} x
                   where x.${adjustments.userColumn} = r.id), 0)`
    : "";
  return `select r.id, r.credits, expected from (
            select r.id, r.credits,
                   (coalesce((select sum(t.credits) from public.transactions t
                               where t.real_user_id = r.id and t.status in ('success', 'refunded')), 0)
                    - coalesce((select sum(t.credits_reversed) from public.transactions t
                                 where t.real_user_id = r.id and t.status = 'refunded'), 0)
                    - coalesce((select sum(m.credits_charged) from public.messages m
                                  join public.chats c on c.id = m.chat_id
                                 where c.real_user_id = r.id), 0)
                    ${adjusted})::int as expected
              from public.real_users r
             where ${inUsers("r.id")}
          ) r
          where r.credits <> r.expected`;
}

/** Finds public.credit_adjustments (SPEC 11) and the columns naming its user and its delta. */
export async function findAdjustments(db) {
  const { rows } = await db.query(
    `select column_name from information_schema.columns
      where table_schema = 'public' and table_name = 'credit_adjustments'`,
  );
  if (!rows.length) return null;
  const columns = rows.map((r) => r.column_name);
  const userColumn = ["real_user_id", "user_id"].find((c) => columns.includes(c));
  const deltaColumn = ["delta", "credits", "amount"].find((c) => columns.includes(c));
  if (!userColumn || !deltaColumn) {
    throw new Error(`credit_adjustments has no user or delta column I know (${columns.join(", ")})`);
  }
  return { table: "credit_adjustments", userColumn, deltaColumn };
}

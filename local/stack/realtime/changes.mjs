// postgres_changes of the local Realtime server, the pure part: what a subscription asks for
// (event, schema, table, filter `column=op.value` with hosted's operators eq, neq, lt, lte, gt,
// gte, in), whether a change read from the WAL (wal2json format-version 2) matches it, and the
// payload realtime-js expects, as hosted's realtime.apply_rls builds it:
// {schema, table, commit_timestamp, type, columns: [{name, type}], record, old_record, errors}.
// Which subscriber may see a row is decided in the database (server.mjs, as each subscriber's role).

export class SubscriptionError extends Error {}

const OPERATORS = ["eq", "neq", "lt", "lte", "gt", "gte", "in"];
const EVENTS = ["*", "INSERT", "UPDATE", "DELETE"];

/** A filter string (`column=op.value`, `column=in.(a,b)`) as {column, op, values}. */
export function parseFilter(filter) {
  const match = /^([^=]+)=([a-z]+)\.(.*)$/s.exec(filter);
  if (!match) throw new SubscriptionError(`invalid filter: ${filter}`);
  const [, column, op, raw] = match;
  if (!OPERATORS.includes(op)) throw new SubscriptionError(`invalid filter operator: ${op}`);
  if (op === "in") {
    const list = /^\((.*)\)$/s.exec(raw);
    if (!list) throw new SubscriptionError(`invalid filter: ${filter} (in expects a list: in.(a,b))`);
    const values = list[1] === "" ? [] : list[1].split(",").map((v) => v.trim().replace(/^"(.*)"$/, "$1"));
    return { column, op, values };
  }
  return { column, op, values: [raw] };
}

/** One postgres_changes entry of a join config as a subscription {event, schema, table, filter}. */
export function parseSubscription(params) {
  const event = String(params?.event ?? "*").toUpperCase();
  if (!EVENTS.includes(event)) throw new SubscriptionError(`invalid event: ${params?.event}`);
  const schema = params?.schema ?? "public";
  const table = params?.table ?? "*";
  const filter = params?.filter ? parseFilter(params.filter) : null;
  return { event, schema, table, filter };
}

const ACTIONS = { I: "INSERT", U: "UPDATE", D: "DELETE" };

/** Compares a column's value with a filter value: as numbers when both are, else as text. */
function compare(value, filterValue) {
  const number = Number(filterValue);
  if (typeof value === "number" && filterValue !== "" && !Number.isNaN(number)) return Math.sign(value - number);
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text < filterValue ? -1 : text > filterValue ? 1 : 0;
}

/** Whether a value passes a parsed filter (a null never does, as in SQL). */
export function passesFilter(filter, value) {
  if (value === null || value === undefined) return false;
  const { op, values } = filter;
  if (op === "in") return values.some((v) => compare(value, v) === 0);
  const c = compare(value, values[0]);
  return { eq: c === 0, neq: c !== 0, lt: c < 0, lte: c <= 0, gt: c > 0, gte: c >= 0 }[op];
}

/**
 * A wal2json (format-version 2) change as {type, schema, table, timestamp, record, oldRecord, pk,
 * pkValues}: record and old record as name → value; pk the key's columns with their types; the
 * key's values from the new row (insert/update) or the old one (delete).
 */
export function walChange(change) {
  const type = ACTIONS[change.action];
  if (!type) return null;
  const toRecord = (columns) => Object.fromEntries((columns ?? []).map((c) => [c.name, c.value]));
  const record = toRecord(change.columns);
  const oldRecord = toRecord(change.identity);
  const pk = (change.pk ?? []).map((c) => ({ name: c.name, type: c.type }));
  const source = type === "DELETE" ? oldRecord : record;
  return {
    type,
    schema: change.schema,
    table: change.table,
    timestamp: change.timestamp,
    record,
    oldRecord,
    pk,
    pkValues: pk.map((c) => source[c.name]),
  };
}

/** Whether a change concerns a subscription (event, schema, table and filter). */
export function matchesSubscription(subscription, change) {
  if (subscription.event !== "*" && subscription.event !== change.type) return false;
  if (subscription.schema !== "*" && subscription.schema !== change.schema) return false;
  if (subscription.table !== "*" && subscription.table !== change.table) return false;
  if (!subscription.filter) return true;
  const row = change.type === "DELETE" ? change.oldRecord : change.record;
  // A delete carries only the key (replica identity default): a filter on another column lets it
  // through, as hosted's apply_rls does for deletes.
  if (change.type === "DELETE" && !(subscription.filter.column in row)) return true;
  return passesFilter(subscription.filter, row[subscription.filter.column]);
}

/** wal2json's commit time ("2026-01-02 03:04:05.678901+00") as hosted formats it (ISO, ms, Z). */
export function commitTimestamp(timestamp) {
  if (!timestamp) return new Date().toISOString();
  const iso = timestamp.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00");
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? timestamp : date.toISOString();
}

/**
 * The `data` of a postgres_changes message for a subscriber who may select `columns`
 * ([{name, type}] in table order): record and old_record keep only those columns; a delete's
 * old_record is the key only (RLS is not applied to deletes, as on hosted).
 */
export function changePayload(change, columns) {
  const visible = new Set(columns.map((c) => c.name));
  const pick = (row) => Object.fromEntries(Object.entries(row).filter(([name]) => visible.has(name)));
  const data = {
    schema: change.schema,
    table: change.table,
    commit_timestamp: commitTimestamp(change.timestamp),
    type: change.type,
    columns,
    errors: null,
  };
  if (change.type !== "DELETE") data.record = pick(change.record);
  if (change.type !== "INSERT") data.old_record = pick(change.oldRecord);
  return data;
}

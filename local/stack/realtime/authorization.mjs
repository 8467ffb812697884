// Private channels of the local Realtime server, authorised against the RLS policies on
// realtime.messages exactly as hosted Realtime does it (lib/realtime/tenants/authorization.ex):
// - read: as the connection's owner, insert one probe row per extension (topic, 'broadcast' and
//   'presence' when presence is on); then, in the same transaction, become the subscriber (role,
//   realtime.topic, request.jwt.claims, request.jwt.claim.sub/role, request.headers) and select
//   the probes back: a probe the policies let through means that read is allowed; roll back.
// - write: as the subscriber, insert a probe (topic, extension, no event) in a savepoint per
//   extension; insufficient_privilege (42501, which RLS raises) means refused; roll back.
// Nothing is ever committed, so the probes never reach the WAL or a subscriber.
import { randomUUID } from "node:crypto";

/** The settings hosted Realtime gives the policies: {role, topic, claims, sub, headers}. */
export function authorizationContext(topic, claims, headers = {}) {
  return { topic, claims, role: claims.role ?? "anon", sub: claims.sub ?? null, headers };
}

async function becomeSubscriber(client, context) {
  await client.query(
    `select set_config('role', $1, true), set_config('realtime.topic', $2, true),
            set_config('request.jwt.claims', $3, true), set_config('request.jwt.claim.sub', $4, true),
            set_config('request.jwt.claim.role', $5, true), set_config('request.headers', $6, true)`,
    [context.role, context.topic, JSON.stringify(context.claims), context.sub ?? "", context.role,
      JSON.stringify(context.headers ?? {})],
  );
}

/** {broadcast, presence} read permissions (presence null when not checked). */
export async function readPolicies(pool, context, { presence = true } = {}) {
  const extensions = presence ? ["broadcast", "presence"] : ["broadcast"];
  const probes = extensions.map((extension) => ({ extension, id: randomUUID() }));
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("begin");
    for (const { extension, id } of probes) {
      await client.query("insert into realtime.messages (id, topic, extension) values ($1, $2, $3)", [
        id,
        context.topic,
        extension,
      ]);
    }
    await becomeSubscriber(client, context);
    const { rows } = await client.query("select id from realtime.messages where id = any($1::uuid[])", [
      probes.map((p) => p.id),
    ]);
    const seen = new Set(rows.map((r) => r.id));
    const result = { broadcast: null, presence: null };
    for (const { extension, id } of probes) result[extension] = seen.has(id);
    return result;
  } catch (error) {
    broken = error.code === undefined;
    throw error;
  } finally {
    await client.query("rollback").catch(() => {
      broken = true;
    });
    client.release(broken);
  }
}

/** {broadcast, presence} write permissions. */
export async function writePolicies(pool, context, { presence = true } = {}) {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("begin");
    await becomeSubscriber(client, context);
    const result = { broadcast: false, presence: false };
    for (const extension of presence ? ["broadcast", "presence"] : ["broadcast"]) {
      await client.query("savepoint probe");
      try {
        await client.query("insert into realtime.messages (topic, extension) values ($1, $2)", [
          context.topic,
          extension,
        ]);
        result[extension] = true;
      } catch (error) {
        if (error.code !== "42501") throw error;
      }
      await client.query("rollback to savepoint probe");
    }
    return result;
  } catch (error) {
    broken = error.code === undefined;
    throw error;
  } finally {
    await client.query("rollback").catch(() => {
      broken = true;
    });
    client.release(broken);
  }
}

// Pure helpers of the realtime section (bench/realtime.mjs): the few Phoenix frames a bench client
// speaks (vsn 2.0.0, as realtime-js by default), the paced schedule of the senders and the tally
// of deliveries that fails the bench on a lost or doubled one. No I/O here (tests/unit/bench.test.ts).

/** A vsn 2.0.0 text frame: [join_ref, ref, topic, event, payload]. */
export function encodeFrame({ joinRef = null, ref = null, topic, event, payload = {} }) {
  return JSON.stringify([joinRef, ref, topic, event, payload]);
}

/** The phx_join of a private channel `realtime:<topic>` with the user's token, as realtime-js sends it. */
export function joinFrame(topic, accessToken, ref) {
  return encodeFrame({
    joinRef: ref,
    ref,
    topic: `realtime:${topic}`,
    event: "phx_join",
    payload: {
      config: { broadcast: { ack: false, self: false }, presence: { key: "", enabled: false }, postgres_changes: [], private: true },
      access_token: accessToken,
    },
  });
}

const KIND_USER_BROADCAST = 4;

/**
 * One frame a vsn 2.0.0 socket received, as {topic, event, payload, ...}: a text frame is a
 * [join_ref, ref, topic, event, payload] array; a binary one is a user broadcast (kind 4: kind,
 * topic size, user event size, metadata size, encoding (0 binary, 1 JSON), then topic, user event,
 * metadata and payload), returned as {topic, event: "broadcast", userEvent, payload (parsed when
 * JSON), meta}. Throws on a frame it cannot read.
 */
export function decodeFrame(data, isBinary) {
  if (!isBinary) {
    const [joinRef, ref, topic, event, payload] = JSON.parse(String(data));
    return { joinRef, ref, topic, event, payload };
  }
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (buffer.length < 5 || buffer[0] !== KIND_USER_BROADCAST) throw new Error(`unexpected binary frame kind ${buffer[0]}`);
  const [topicSize, eventSize, metaSize, encoding] = buffer.subarray(1, 5);
  let offset = 5;
  const take = (size) => buffer.subarray(offset, (offset += size)).toString("utf8");
  const topic = take(topicSize);
  const userEvent = take(eventSize);
  const meta = metaSize ? JSON.parse(take(metaSize)) : null;
  const body = buffer.subarray(offset);
  return { topic, event: "broadcast", userEvent, meta, payload: encoding === 1 ? JSON.parse(body.toString("utf8")) : body };
}

/**
 * The send times (ms from the start) of a steady `rate` per second for `seconds`: message i at
 * i / rate. The senders fire each when it is due (late ones at once), so the achieved rate shows
 * whether the path kept up.
 */
export function schedule(rate, seconds) {
  const count = Math.round(rate * seconds);
  return Array.from({ length: count }, (_, i) => (i * 1000) / rate);
}

/**
 * The tally of a delivery run: `sent` messages, each expected once at each of `membersOf(message)`
 * (an array of receiver ids), and `received`, the [receiver, message] pairs that arrived. Returns
 * {expected, delivered, missing, duplicates, strays, firstMissing}: strays are deliveries of a
 * message to a receiver that should not have it (or of a message never sent).
 */
export function tallyDeliveries(sent, membersOf, received) {
  const expected = new Map();
  for (const message of sent) for (const member of membersOf(message)) expected.set(`${member}|${message}`, 0);
  let duplicates = 0;
  let strays = 0;
  for (const [member, message] of received) {
    const key = `${member}|${message}`;
    const seen = expected.get(key);
    if (seen === undefined) strays++;
    else {
      if (seen > 0) duplicates++;
      expected.set(key, seen + 1);
    }
  }
  let missing = 0;
  let firstMissing = null;
  for (const [key, seen] of expected) {
    if (seen === 0) {
      missing++;
      firstMissing ??= key;
    }
  }
  return { expected: expected.size, delivered: expected.size - missing, missing, duplicates, strays, firstMissing };
}

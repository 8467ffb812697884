// The wire format of the local Realtime server: Phoenix channel frames as Supabase Realtime speaks
// them. vsn 1.0.0 sends JSON objects {topic, event, payload, ref, join_ref}; vsn 2.0.0 (realtime-js's
// default) sends JSON arrays [join_ref, ref, topic, event, payload] and, for broadcasts, the binary
// frames of hosted Realtime's V2 serializer:
//   user broadcast push (client → server, kind 3): kind, join_ref size, ref size, topic size,
//     user event size, metadata size, payload encoding (0 binary, 1 JSON), then those strings and
//     the user payload;
//   user broadcast (server → client, kind 4): kind, topic size, user event size, metadata size,
//     payload encoding, then topic, user event, metadata (JSON) and the user payload.
// Pure functions only: the server (server.mjs) owns sockets and state.

export const VSN_1 = "1.0.0";
export const VSN_2 = "2.0.0";
export const SUPPORTED_VSNS = [VSN_1, VSN_2];

const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;
const ENCODING_BINARY = 0;
const ENCODING_JSON = 1;

export class ProtocolError extends Error {}

/**
 * One incoming frame as {joinRef, ref, topic, event, payload}. A binary user broadcast push comes
 * back with event "broadcast" and `userBroadcast: {event, encoding, payload: Buffer}` (its metadata
 * is dropped, as hosted drops it). Throws ProtocolError on a malformed frame.
 */
export function decodeFrame(vsn, data, isBinary) {
  if (isBinary) {
    if (vsn !== VSN_2) throw new ProtocolError("binary frames need vsn 2.0.0");
    return decodeBinary(Buffer.isBuffer(data) ? data : Buffer.from(data));
  }
  let parsed;
  try {
    parsed = JSON.parse(typeof data === "string" ? data : data.toString("utf8"));
  } catch {
    throw new ProtocolError("frame is not JSON");
  }
  if (vsn === VSN_2) {
    if (!Array.isArray(parsed) || parsed.length < 5) throw new ProtocolError("expected V2 array");
    const [joinRef, ref, topic, event, payload] = parsed;
    return checked({ joinRef, ref, topic, event, payload });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ProtocolError("expected V1 object");
  }
  return checked({
    joinRef: parsed.join_ref ?? null,
    ref: parsed.ref ?? null,
    topic: parsed.topic,
    event: parsed.event,
    payload: parsed.payload,
  });
}

function checked(frame) {
  if (typeof frame.topic !== "string" || typeof frame.event !== "string") {
    throw new ProtocolError("topic and event must be strings");
  }
  frame.joinRef = frame.joinRef == null ? null : String(frame.joinRef);
  frame.ref = frame.ref == null ? null : String(frame.ref);
  if (frame.payload === undefined || frame.payload === null) frame.payload = {};
  return frame;
}

function decodeBinary(buffer) {
  if (buffer.length < 7 || buffer[0] !== KIND_USER_BROADCAST_PUSH) {
    throw new ProtocolError(`unsupported binary frame kind ${buffer[0]}`);
  }
  const [joinRefSize, refSize, topicSize, eventSize, metadataSize, encoding] = buffer.subarray(1, 7);
  let offset = 7;
  const take = (size) => {
    if (offset + size > buffer.length) throw new ProtocolError("binary frame shorter than its header says");
    const part = buffer.subarray(offset, offset + size);
    offset += size;
    return part;
  };
  const joinRef = take(joinRefSize).toString("utf8");
  const ref = take(refSize).toString("utf8");
  const topic = take(topicSize).toString("utf8");
  const userEvent = take(eventSize).toString("utf8");
  take(metadataSize);
  const payload = Buffer.from(buffer.subarray(offset));
  return {
    joinRef: joinRef || null,
    ref: ref || null,
    topic,
    event: "broadcast",
    payload: {},
    userBroadcast: { event: userEvent, encoding: encoding === ENCODING_BINARY ? "binary" : "json", payload },
  };
}

/** A message (server push, reply or broadcast) as a text frame of the socket's vsn. */
export function encodeMessage(vsn, { joinRef = null, ref = null, topic, event, payload }) {
  if (vsn === VSN_2) return JSON.stringify([joinRef, ref, topic, event, payload]);
  return JSON.stringify({ topic, event, payload, ref, join_ref: joinRef });
}

/** A phx_reply to the frame `to`, with status "ok" or "error". */
export function encodeReply(vsn, to, status, response = {}) {
  return encodeMessage(vsn, {
    joinRef: to.joinRef,
    ref: to.ref,
    topic: to.topic,
    event: "phx_reply",
    payload: { status, response },
  });
}

/**
 * A user broadcast ({event, encoding: "json" | "binary", payload: Buffer, metadata?}) as the frame a
 * socket of this vsn receives: binary (kind 4) for 2.0.0; for 1.0.0 the JSON broadcast
 * {type, event, payload, meta?}, or null when the payload is binary (hosted drops those for V1).
 */
export function encodeUserBroadcast(vsn, topic, { event, encoding, payload, metadata = null }) {
  if (vsn === VSN_2) {
    const meta = metadata ? Buffer.from(JSON.stringify(metadata)) : Buffer.alloc(0);
    const topicBytes = Buffer.from(topic);
    const eventBytes = Buffer.from(event);
    for (const [what, bytes] of [["topic", topicBytes], ["user event", eventBytes], ["metadata", meta]]) {
      if (bytes.length > 255) throw new ProtocolError(`${what} longer than 255 bytes`);
    }
    const header = Buffer.from([
      KIND_USER_BROADCAST,
      topicBytes.length,
      eventBytes.length,
      meta.length,
      encoding === "binary" ? ENCODING_BINARY : ENCODING_JSON,
    ]);
    return Buffer.concat([header, topicBytes, eventBytes, meta, payload]);
  }
  if (encoding === "binary") return null;
  return encodeMessage(vsn, { topic, event: "broadcast", payload: jsonBroadcast({ event, payload, metadata }) });
}

/** A user broadcast as the JSON payload {type, event, payload, meta?} that realtime-js reads. */
export function jsonBroadcast({ event, payload, metadata = null }) {
  const body = { type: "broadcast", event, payload: JSON.parse(Buffer.from(payload).toString("utf8")) };
  if (metadata) body.meta = metadata;
  return body;
}

/** The websocket URL's vsn, or null when the server does not speak it. */
export function socketVsn(searchParams) {
  const vsn = searchParams.get("vsn") ?? VSN_1;
  return SUPPORTED_VSNS.includes(vsn) ? vsn : null;
}

const asBoolean = (value, fallback = false) => {
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  return fallback;
};

/**
 * The `phx_join` payload's config the way hosted Realtime reads it (its Join and Config payloads):
 * broadcast self/ack default false, presence disabled unless asked, private false, and the
 * presence key (empty means: the server generates one).
 */
export function parseJoinConfig(payload) {
  const config = payload && typeof payload.config === "object" && payload.config !== null ? payload.config : {};
  const broadcast = config.broadcast ?? {};
  const presence = config.presence ?? {};
  const postgresChanges = Array.isArray(config.postgres_changes) ? config.postgres_changes.filter(Boolean) : [];
  return {
    self: asBoolean(broadcast.self),
    ack: asBoolean(broadcast.ack),
    replay: broadcast.replay ?? null,
    presenceEnabled: asBoolean(presence.enabled),
    presenceKey: typeof presence.key === "string" && presence.key !== "" ? presence.key : null,
    private: asBoolean(config.private),
    postgresChanges,
  };
}

/** Hosted Realtime's texts (RealtimeChannel and its Logging: "<code>: <message>"). */
export const messages = {
  noTopic: "TopicNameRequired: You must provide a topic name",
  cannotRead: (topic) => `You do not have permissions to read from this Channel topic: ${topic}`,
  noLongerRead: (topic) => `You no longer have permission to read from this Channel topic: ${topic}`,
  expired: (secondsAgo) => `Token has expired ${secondsAgo} seconds ago`,
  missingClaims: "Fields `role` and `exp` are required in JWT",
  malformed: "The token provided is not a valid JWT",
  badSignature: "Failed to validate JWT signature",
  replayPublic: "UnableToReplayMessages: Replay is not allowed for public channels",
  replayUnsupported: "UnableToReplayMessages: Replay params are not valid",
  databaseUnavailable: "Realtime was unable to connect to the project database",
  unmatchedTopic: "unmatched topic",
};

/** A join refusal's `reason` for a token check's error ({code, message} from tokens.mjs). */
export function joinTokenReason(error) {
  const code = {
    expired: "InvalidJWTToken",
    missing_claims: "InvalidJWTToken",
    malformed: "MalformedJWT",
    signature: "JwtSignatureError",
  }[error.code] ?? "UnknownErrorOnChannel";
  return `${code}: ${error.message}`;
}

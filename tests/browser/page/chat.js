// A minimal chat client, as a frontend would write it with supabase-js (the UMD build loaded by
// index.html as window.supabase). The page is served from its own origin, so every call to the
// stack is cross-origin and goes through CORS. tests/browser/chat.test.ts drives it: it calls the
// steps below with page.evaluate and reads what arrived from window.chat.
//
// The stack's URL and publishable key come from the page's query string (?api=…&key=…).
const params = new URLSearchParams(location.search);
const client = supabase.createClient(params.get("api"), params.get("key"));

function show(text, id) {
  const item = document.createElement("li");
  if (id) item.dataset.id = id;
  item.textContent = text;
  document.getElementById("messages").append(item);
}

/** Throws the error supabase-js returned, with its code, so the test reports it as it came. */
function unwrap({ data, error }, step) {
  if (error) throw new Error(`${step}: ${error.code ?? ""} ${error.message}`);
  return data;
}

window.chat = {
  /** Broadcasts received on the chat's channel ({event, payload}), in order. */
  received: [],
  /** What the channel's subscribe callback reported: [{status, error}]. */
  statuses: [],

  async signIn(email, password) {
    const data = unwrap(await client.auth.signInWithPassword({ email, password }), "sign in");
    document.getElementById("status").textContent = `signed in as ${data.user.email}`;
    return data.user.id;
  },

  /** The profiles the signed-in user may chat with (the app's browse page). */
  async profiles() {
    const { data: { user } } = await client.auth.getUser();
    return unwrap(
      await client.rpc("get_available_fictional_profiles", { p_user_id: user.id, p_limit: 20, p_offset: 0 }),
      "profiles",
    );
  },

  /** Starts the user's chat with a profile, or opens the one it has; returns the chat's id. */
  async startChat(profileId) {
    return unwrap(await client.rpc("start_chat", { p_fictional_user_id: profileId }), "start_chat");
  },

  async send(chatId, content) {
    return unwrap(
      await client.from("messages").insert({ chat_id: chatId, sender_type: "real", content }).select().single(),
      "send",
    );
  },

  /** The chat's messages as the user may read them (what the app shows on opening a chat). */
  async history(chatId) {
    return unwrap(
      await client.from("messages").select("id, sender_type, content, created_at").eq("chat_id", chatId).order("created_at"),
      "history",
    );
  },

  /** Joins the chat's private channel and shows each new message as it arrives. */
  async join(chatId) {
    await client.realtime.setAuth();
    client
      .channel(`chat:${chatId}`, { config: { private: true } })
      .on("broadcast", { event: "message_created" }, ({ event, payload }) => {
        window.chat.received.push({ event, payload });
        show(`${payload.sender_type}: ${payload.content}`, payload.id);
      })
      .subscribe((status, error) => {
        window.chat.statuses.push({ status, error: error ? String(error.message ?? error) : null });
      });
  },
};

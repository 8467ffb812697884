// The local inbox: where the Auth stand-in delivers its emails, as `supabase start` delivers
// GoTrue's to Mailpit (`MAILPIT_URL`, formerly Inbucket). It answers the part of Mailpit's API a
// developer or a test reads mail with, at the same paths under the inbox's URL:
//   GET    /api/v1/messages?start=&limit=   newest first: {total, unread, count, messages_count, start, tags, messages}
//   GET    /api/v1/search?query=to:<address> the same, for one recipient (or text in subject or body)
//   GET    /api/v1/message/{ID|latest}      one message with its Text and HTML
//   DELETE /api/v1/messages                 all messages, or {"IDs": [...]}
//   GET    /                                a page listing the messages, each with its links
// Messages live in memory (Mailpit's default under the CLI): a restart empties the inbox.
import { randomBytes } from "node:crypto";

const MAX_MESSAGES = 1000;

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** Mailpit's message IDs: 22 random base62-ish characters. */
const newId = () => randomBytes(16).toString("base64url").slice(0, 22);

function send(res, status, body, type = "application/json") {
  const text = type === "application/json" ? JSON.stringify(body) : body;
  res.writeHead(status, {
    "content-type": `${type}; charset=utf-8`,
    "content-length": Buffer.byteLength(text),
    "access-control-allow-origin": "*",
  });
  res.end(text);
}

export function createInbox() {
  /** Newest last. */
  const messages = [];

  function summary(message) {
    return {
      ID: message.ID,
      MessageID: message.MessageID,
      Read: message.Read,
      From: message.From,
      To: message.To,
      Cc: [],
      Bcc: [],
      ReplyTo: [],
      Subject: message.Subject,
      Created: message.Created,
      Tags: [],
      Size: message.Size,
      Attachments: 0,
      Snippet: message.Text.replace(/\s+/g, " ").trim().slice(0, 250),
    };
  }

  function listing(found, url) {
    const start = Math.max(0, Number(url.searchParams.get("start") ?? 0) || 0);
    const limit = Math.max(1, Number(url.searchParams.get("limit") ?? 50) || 50);
    const newestFirst = [...found].reverse();
    const page = newestFirst.slice(start, start + limit).map(summary);
    return {
      total: messages.length,
      unread: messages.filter((m) => !m.Read).length,
      count: page.length,
      messages_count: found.length,
      start,
      tags: [],
      messages: page,
    };
  }

  /** Mailpit's search, the terms a test needs: to:<address>, subject:<text>, or plain text. */
  function search(query) {
    const terms = query.match(/(\w+:)?("[^"]*"|\S+)/g) ?? [];
    return messages.filter((message) =>
      terms.every((term) => {
        const [, field, raw] = /^(?:(\w+):)?(.*)$/.exec(term);
        const value = raw.replace(/^"|"$/g, "").toLowerCase();
        if (field === "to") return message.To.some((to) => to.Address.toLowerCase().includes(value));
        if (field === "from") return message.From.Address.toLowerCase().includes(value);
        if (field === "subject") return message.Subject.toLowerCase().includes(value);
        return `${message.Subject}\n${message.Text}`.toLowerCase().includes(value);
      }));
  }

  function page() {
    const rows = [...messages].reverse().map((m) => `
      <article>
        <h2>${escapeHtml(m.Subject)}</h2>
        <p class="meta">to ${escapeHtml(m.To.map((t) => t.Address).join(", "))} · ${escapeHtml(m.Created)}</p>
        <div class="body">${m.HTML}</div>
      </article>`).join("\n");
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local inbox</title>
<style>body{font:15px/1.4 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}
article{border:1px solid #ddd;border-radius:6px;padding:0 1rem;margin:1rem 0}.meta{color:#666;font-size:13px}</style></head>
<body><h1>Local inbox</h1>
<p>The emails the local Auth stand-in sent (${messages.length}), newest first. JSON: <code>api/v1/messages</code>.</p>
${rows || "<p>No messages yet.</p>"}
</body></html>`;
  }

  return {
    /** Stores an email: {from: {name, address}, to: address, subject, html, text}. */
    deliver({ from, to, subject, html, text }) {
      const id = newId();
      const message = {
        ID: id,
        MessageID: `${id}@fantooo.local`,
        Read: false,
        From: { Name: from.name, Address: from.address },
        To: [{ Name: "", Address: to }],
        Subject: subject,
        Created: new Date().toISOString(),
        Date: new Date().toISOString(),
        Text: text,
        HTML: html,
        Size: Buffer.byteLength(html) + Buffer.byteLength(text),
      };
      messages.push(message);
      if (messages.length > MAX_MESSAGES) messages.splice(0, messages.length - MAX_MESSAGES);
      return message;
    },

    /** Serves one request; `path` is what follows the inbox's URL, with the query string. */
    async handle(req, res, path) {
      const url = new URL(path, "http://inbox.local");
      const route = url.pathname.replace(/\/+$/, "") || "/";
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          "access-control-allow-origin": "*",
          "access-control-allow-methods": "GET, DELETE, OPTIONS",
          "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
        });
        return res.end();
      }
      if (req.method === "GET" && (route === "/" || route === "/index.html")) return send(res, 200, page(), "text/html");
      if (req.method === "GET" && route === "/api/v1/messages") return send(res, 200, listing(messages, url));
      if (req.method === "GET" && route === "/api/v1/search") {
        return send(res, 200, listing(search(url.searchParams.get("query") ?? ""), url));
      }
      const one = /^\/api\/v1\/message\/([^/]+)$/.exec(route);
      if (req.method === "GET" && one) {
        const message = one[1] === "latest" ? messages.at(-1) : messages.find((m) => m.ID === one[1]);
        if (!message) return send(res, 404, "message not found", "text/plain");
        message.Read = true;
        const { Read: _read, Created: _created, ...rest } = message;
        return send(res, 200, { ...rest, Cc: [], Bcc: [], ReplyTo: [], ReturnPath: message.From.Address, Tags: [], Inline: [], Attachments: [] });
      }
      if (req.method === "DELETE" && route === "/api/v1/messages") {
        let ids = null;
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const body = Buffer.concat(chunks).toString("utf8").trim();
        if (body) {
          try {
            ids = JSON.parse(body).IDs ?? null;
          } catch {
            return send(res, 400, "invalid JSON", "text/plain");
          }
        }
        if (Array.isArray(ids) && ids.length) {
          for (let i = messages.length - 1; i >= 0; i -= 1) if (ids.includes(messages[i].ID)) messages.splice(i, 1);
        } else {
          messages.length = 0;
        }
        return send(res, 200, "ok", "text/plain");
      }
      send(res, 404, "404 page not found", "text/plain");
    },
  };
}

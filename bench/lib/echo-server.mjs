// The transport's floor for the realtime section: a bare `ws` server (a child process, as the
// Realtime server is one) that relays every frame it receives to each socket of the sender's pair
// (`?pair=<n>`), the sender included; nothing parsed, nothing checked. Prints its port, then serves
// until stdin closes or it is signalled.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const pairs = new Map(); // pair → Set of sockets
const server = createServer((req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on("connection", (ws, req) => {
  const pair = new URL(req.url ?? "/", "http://echo").searchParams.get("pair");
  const members = pairs.get(pair) ?? new Set();
  members.add(ws);
  pairs.set(pair, members);
  ws.on("message", (data, isBinary) => {
    for (const member of members) member.send(data, { binary: isBinary });
  });
  ws.on("close", () => members.delete(ws));
  ws.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => console.log(String(server.address().port)));
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));

// The live-events peer: Node's `ws` server broadcasting, on POST /trigger,
// the message patchbay's panel sends on a status change (same shape and
// size) to every connected client.
//   node ws_peer.mjs <port>
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
let offline = true;
const server = { id: '6f1c1f0e-8f4e-4a55-9d3a-0c2b1d6b6a11', uuid: '6f1c1f0e-8f4e-4a55-9d3a-0c2b1d6b6a11', name: 'bench',
  description: '', user_id: '0b7c0e6a-2a53-4f1f-8d8e-5b0e8f0c9d12', node_id: '1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5',
  node_name: 'Local node', limits: { memory: 512, disk: 1024, cpu: 100 }, status: 'offline', suspended: false,
  created_at: '2026-12-01T10:00:00Z' };
const http = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/trigger') {
    // The request patchbay gets ({"action": ...} with a token), read whole as a server must.
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const { action } = JSON.parse(body || '{}');
      if (!req.headers.authorization || !action) return res.writeHead(400).end();
      offline = !offline;
      const message = JSON.stringify({ type: 'server.status', server: { ...server, status: offline ? 'offline' : 'starting' } });
      for (const client of wss.clients) if (client.readyState === 1) client.send(message);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"success":true}');
    });
    return;
  }
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
http.listen(port, '127.0.0.1');

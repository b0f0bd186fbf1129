// The servers-list peer: Express answering GET /api/servers with the same
// JSON patchbay's panel answers for one user's 10 servers (in memory, no auth).
//   node express_peer.mjs <port> <servers.json>
import express from 'express';
import { readFileSync } from 'node:fs';

const [port, file] = process.argv.slice(2);
const body = JSON.parse(readFileSync(file, 'utf8'));
const app = express();
app.get('/api/servers', (req, res) => res.json(body));
app.listen(Number(port), '127.0.0.1');

// The benchmark's transport floor: a bare node:https server that reads a JSON body and answers
// with a fixed JSON body of a dispense answer's size, nothing else. Started by https-floor.ts
// with the data center's certificate; prints its port.
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';

const [cert, key, bytes] = process.argv.slice(2);
const answer = JSON.stringify({ padding: 'x'.repeat(Math.max(0, Number(bytes) - 16)) });
const server = createServer(
  { cert: readFileSync(cert), key: readFileSync(key) },
  (request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      JSON.parse(body);
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(answer),
      });
      response.end(answer);
    });
  },
);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

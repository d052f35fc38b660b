// `npm run example:browser`: bundles examples/browser/main.ts for the browser with esbuild (as a
// user's bundler would) and serves the page on http://127.0.0.1:PORT (default 8080), with
// tfjs-backend-wasm's .wasm files under /wasm/. Ctrl-C stops it.
import { promises as fs } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const port = Number(process.env.PORT ?? 8080);
await esbuild.build({
  entryPoints: [path.join(here, 'main.ts')],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  minify: true,
  sourcemap: true,
  outfile: path.join(here, 'dist/main.js'),
  logLevel: 'warning',
});
const routes = [
  ['/wasm/', path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')],
  ['/', here],
];
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};
createServer(async (req, res) => {
  const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
  const [prefix, dir] = routes.find(([p]) => url.startsWith(p));
  let file = path.resolve(dir, `.${url.slice(prefix.length - 1)}`);
  if (!file.startsWith(dir)) return void res.writeHead(403).end();
  try {
    if ((await fs.stat(file)).isDirectory()) file = path.join(file, 'index.html');
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(await fs.readFile(file));
  } catch {
    res.writeHead(404).end();
  }
}).listen(port, '127.0.0.1', () => {
  console.log(`mtgraph browser example: http://127.0.0.1:${port}/ (Ctrl-C to stop)`);
});

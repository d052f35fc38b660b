/** A static file server on 127.0.0.1 for the packaged-browser test (files by URL path under roots). */
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
};

/** Serves `routes` (URL prefix -> folder) on 127.0.0.1:`port` (0: any); resolves with the base URL. */
export async function serve(
  routes: Record<string, string>,
  port = 0,
): Promise<{ url: string; server: Server }> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = createServer(async (req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const prefix = prefixes.find((p) => url.startsWith(p));
    if (prefix === undefined) return void res.writeHead(404).end();
    const root = path.resolve(routes[prefix]!);
    let file = path.resolve(root, `.${url.slice(prefix.length - 1)}`);
    if (file !== root && !file.startsWith(root + path.sep)) return void res.writeHead(403).end();
    try {
      if ((await fs.stat(file)).isDirectory()) file = path.join(file, 'index.html');
      const bytes = await fs.readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-length': bytes.length,
      });
      res.end(bytes);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

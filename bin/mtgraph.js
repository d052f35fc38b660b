#!/usr/bin/env node
// The `mtgraph` command. In a published package it runs the compiled dist/cli; in a clone (where
// src/ exists) it runs the TypeScript sources through tsx, so no build step is needed.
// MTGRAPH_CLI=dist forces the compiled code.
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const src = new URL('src/cli/index.ts', root);
const dist = new URL('dist/cli/index.js', root);

async function entry() {
  if (process.env.MTGRAPH_CLI !== 'dist' && existsSync(src)) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return src;
    } catch (error) {
      if (!existsSync(dist)) {
        process.stderr.write(
          `mtgraph: cannot run the TypeScript sources (${error.message}); install the dev dependencies (npm ci) or build (npm run build).\n`,
        );
        process.exit(2);
      }
    }
  }
  if (!existsSync(dist)) {
    process.stderr.write(
      'mtgraph: dist/cli/index.js is missing: build the package first (npm run build).\n',
    );
    process.exit(2);
  }
  return dist;
}

// `mtgraph ... | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const { run } = await import((await entry()).href);
process.exitCode = await run(process.argv.slice(2));

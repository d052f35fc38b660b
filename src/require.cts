// `require('mtgraph')`: mtgraph is an ES module only. This file is what the `require` export
// condition resolves to, so that the mistake is named instead of failing somewhere inside.
throw new Error(
  'mtgraph is an ES module: load it with `import { TaskGraph } from \'mtgraph\'` (or `await import(\'mtgraph\')` from CommonJS), not require(). Set "type": "module" in your package.json or use an .mjs/.mts file.',
);

// Loads tfjs exports with plain @tensorflow/tfjs only (never mtgraph) and prints their predictions.
// Usage: node plain-tfjs.mjs <tfjs file URL> <jobs.json>; jobs: [{ dir, x }] -> stdout JSON.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const tf = await import(process.argv[2]);
await tf.setBackend('cpu');
const jobs = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const results = [];
for (const { dir, x } of jobs) {
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const bytes = readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    }),
  );
  const input = tf.tensor2d(x);
  const out = model.predict(input);
  const outs = Array.isArray(out) ? out : [out];
  results.push({
    dir,
    names: model.outputNames,
    classes: [...new Set(model.layers.map((l) => l.getClassName()))],
    values: outs.map((o) => Array.from(o.dataSync())),
  });
}
process.stdout.write(JSON.stringify(results));

/**
 * The classic two-task Keras example, declared as a task graph and trained with mtgraph:
 * 100 random samples with 10 features, a shared Dense(32, relu), a sigmoid head and a 3-class
 * softmax head, adam, 50 epochs, batch 32. Prints the per-task loss of every epoch.
 *
 * Run: npx tsx examples/keras-seed.ts
 */
import { TaskGraph, initBackend, compile, fit, explain, seededRandom } from '../src/index.js';

await initBackend();

const graph = new TaskGraph({ input: { features: 10 }, name: 'keras two-task' });
graph.addTask('binary_out', { kind: 'binary' });
graph.addTask('class_out', { kind: 'multiclass', classes: 3 });
graph.addAffinity('binary_out', 'class_out', { weight: 0.5 });

// Random data, as in the Keras example (seeded here so the run repeats).
const rand = seededRandom(0);
const x = Array.from({ length: 100 }, () => Array.from({ length: 10 }, () => rand()));
const y = {
  binary_out: x.map(() => (rand() < 0.5 ? 0 : 1)),
  class_out: x.map(() => Math.floor(rand() * 3)),
};

const model = compile(graph, {
  strategy: 'hard',
  trunk: { units: [32], activation: 'relu' },
  seed: 0,
});
console.log(explain(model.plan));
console.log('\nepoch  loss     binary_out  class_out');
await fit(
  model,
  { x, y },
  {
    epochs: 50,
    batchSize: 32,
    seed: 0,
    optimizer: 'adam',
    onEpochEnd: (epoch, logs) => {
      const t = logs.taskLoss;
      console.log(
        `${String(epoch + 1).padStart(5)}  ${logs.loss.toFixed(4)}   ${t.binary_out!.toFixed(4)}      ${t.class_out!.toFixed(4)}`,
      );
    },
  },
);
model.dispose();

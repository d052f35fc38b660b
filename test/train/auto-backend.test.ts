// Issue 14, point 17: fit chooses the best backend when nobody called initBackend.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { compile } from '../../src/network/compile.js';
import { fit } from '../../src/train/fit.js';
import { predict } from '../../src/train/predict.js';

const x = Array.from({ length: 32 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 5) / 5]);
const y = { c: x.map((f) => (f[0]! > 0 ? 1 : 0)) };

describe('fit without initBackend (#14.17)', () => {
  // a forced backend (MTGRAPH_BACKEND) is what initBackend would pick: nothing to test then
  it.skipIf(Boolean(process.env.MTGRAPH_BACKEND))(
    'leaves tfjs default cpu for the fastest backend that loads, once, and says so in history.notes',
    async () => {
      const g = new TaskGraph({ input: 3 });
      g.addTask('c', { kind: 'binary' });
      // compile is synchronous: the weights are made on tfjs's default backend
      const model = compile(g, { strategy: 'hard', trunk: { units: [4] } });
      expect(tf.getBackend()).toBe('cpu');
      const first = await fit(model, { x, y }, { epochs: 1 });
      expect(tf.getBackend()).toBe('wasm'); // tfjs-node is not installed here; wasm is
      expect(first.notes[0]).toMatch(/no backend was chosen .*fit chose 'wasm'/);
      const second = await fit(model, { x, y }, { epochs: 1 });
      expect(second.notes.some((n) => n.includes('no backend was chosen'))).toBe(false);
      // the weights moved with the switch: training went on and predict runs on wasm
      expect(Number.isFinite(second.loss[0]!)).toBe(true);
      const before = tf.memory().numTensors;
      const out = predict(model, x);
      expect(out.c!.shape).toEqual([32, 1]);
      tf.dispose(Object.values(out));
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    },
  );
});

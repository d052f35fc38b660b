// Bundled for the browser by browser.test.ts: exports a seeded model in every format, in memory.
import * as tf from '@tensorflow/tfjs';
import { compile, exportModel, TaskGraph } from '../../src/index.js';

/** Where the test reads the result (the page's window). */
const page = globalThis as {
  exported?: { formats: Record<string, string[]>; onnx: string } | { error: string };
};

(async () => {
  try {
    await tf.setBackend('cpu');
    const g = new TaskGraph({ input: { features: 4 } });
    g.addTask('a', { kind: 'binary' });
    g.addTask('b', { kind: 'regression' });
    g.addTask('c', { kind: 'multiclass', classes: 3 });
    g.addAffinity('a', 'b', { weight: 0.5 });
    const model = compile(g, { strategy: 'mmoe', trunk: { units: [6] }, seed: 4 });
    const formats: Record<string, string[]> = {};
    let onnx = '';
    for (const format of ['tfjs', 'onnx', 'pytorch']) {
      const r = await exportModel(model, { format });
      formats[format] = r.files.map(([n]) => n);
      const bytes = r.files.find(([n]) => n === 'model.onnx')?.[1];
      if (bytes instanceof Uint8Array) onnx = btoa(String.fromCharCode(...bytes));
    }
    page.exported = { formats, onnx };
  } catch (e) {
    page.exported = { error: String((e as Error)?.stack ?? e) };
  }
})();

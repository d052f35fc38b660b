// A TypeScript consumer of the packed mtgraph (moduleResolution bundler; and, copied to
// check.mts, node16/nodenext): graphology's members on TaskGraph, the public API's types, the
// backend subpath. Compiled with skipLibCheck off, so mtgraph's .d.ts files are checked too.
import {
  type FitOptions,
  type MtgraphModel,
  type ModelFiles,
  TaskGraph,
  loadModel,
  plan,
  readCsv,
  saveModel,
} from 'mtgraph';
import { patchWasmKernels, restoreWasmKernels } from 'mtgraph/backend';

const g = new TaskGraph({ input: { features: 3 } });
g.addTask('a', { kind: 'binary' });
g.addTask('b', { kind: 'regression' });
g.addAffinity('a', 'b', { weight: 0.5 });
const order: number = g.order;
const size: number = g.size;
g.forEachNode((node: string, attributes) => {
  const kind: string = attributes.kind;
  void node;
  void kind;
});
const p = plan(g, { strategy: 'hard' });
const tasks: string[] = p.tasks.map((t) => t.id);
const options: FitOptions = { epochs: 2, batchSize: 8 };
async function roundTrip(model: MtgraphModel): Promise<MtgraphModel> {
  const files: ModelFiles = await saveModel(model);
  await saveModel(model, 'indexeddb://m');
  await readCsv({ text: 'a,b\n1,2\n' }, g);
  return loadModel(files);
}
const knobs: Array<() => unknown> = [patchWasmKernels, restoreWasmKernels];
export { order, size, tasks, options, roundTrip, knobs };

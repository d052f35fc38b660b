// Issue 14, point 22: history.notes says when the loss grows by orders of magnitude.
import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { compile } from '../../src/network/compile.js';
import { fit } from '../../src/train/fit.js';
import { divergenceNotes } from '../../src/train/notes.js';

function graph(): TaskGraph {
  const g = new TaskGraph({ input: 4 });
  g.addTask('c', { kind: 'binary' });
  g.addTask('r', { kind: 'regression' });
  return g;
}

const x = Array.from({ length: 64 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 5) / 5, 1]);
const y = { c: x.map((f) => (f[0]! > 0 ? 1 : 0)), r: x.map((f) => f[1]!) };

async function notesWith(learningRate: number): Promise<string[]> {
  const model = compile(graph(), { strategy: 'hard', trunk: { units: [8] } });
  try {
    const h = await fit(
      model,
      { x, y },
      { epochs: 6, batchSize: 16, optimizer: { name: 'adam', learningRate } },
    );
    // without initBackend the first fit of the file also notes the backend it chose (#14.17)
    return h.notes.filter((n) => !n.startsWith('no backend was chosen'));
  } finally {
    model.dispose();
  }
}

describe('a diverging loss is noted (#14.22)', () => {
  it('adam with learning rate 1e6 gets a note naming the optimizer, the rate and the fix', async () => {
    const notes = await notesWith(1e6);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      /training loss reached .* a constant prediction scores: training diverges/,
    );
    expect(notes[0]).toMatch(/adam with learningRate 1000000.*lower the learning rate/);
  });

  it('an ordinary learning rate gets no note', async () => {
    expect(await notesWith(0.01)).toEqual([]);
  });

  it('growth from epoch 1 by 100x over the first epochs is noted; a loss that falls is not', () => {
    const growing = { loss: [1, 5, 300, 2], taskLoss: { a: [1, 5, 300, 2] } };
    expect(divergenceNotes(growing, { name: 'sgd', learningRate: 5 })[0]).toMatch(
      /the training loss grew 3\.0e\+2x over the first epochs \(1\.00 at epoch 1, 300 at epoch 3\)/,
    );
    const falling = { loss: [300, 5, 1], taskLoss: { a: [300, 5, 1] } };
    expect(divergenceNotes(falling, { name: 'sgd' }, { a: 10 })).toEqual([]);
    // a total that is not positive (uncertainty balancing) falls back to each task's loss
    const negative = { loss: [-1, -2, 50], taskLoss: { a: [0.5, 0.6, 80] } };
    expect(divergenceNotes(negative, { name: 'adam' })[0]).toMatch(/task "a"'s training loss grew/);
  });
});

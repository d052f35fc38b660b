import * as tf from '@tensorflow/tfjs';
import { backendChosen, initBackend } from './init.js';
import { untrainableLayers, type TrainableTarget } from './trainable.js';

/**
 * Chooses the best backend for training when nobody chose one: when initBackend was never
 * called and tfjs runs on its default 'cpu' backend (about 18x slower than wasm for dense
 * models), calls initBackend() (tfjs-node, else wasm, else cpu; MTGRAPH_BACKEND is honoured).
 * A backend set with tf.setBackend (other than 'cpu') is left alone; to stay on cpu call
 * initBackend({ backend: 'cpu' }) or set MTGRAPH_BACKEND=cpu. Tensors made before the switch
 * (the model's weights from a sync `compile`) move to the new backend on first use. When the
 * chosen backend cannot train `target`'s layers it goes back to cpu. Returns a sentence for
 * `history.notes` when it chose, else undefined.
 */
export async function autoBackend(
  target: TrainableTarget,
  what: string,
): Promise<string | undefined> {
  if (backendChosen()) return undefined;
  await tf.ready();
  if (tf.getBackend() !== 'cpu') return undefined;
  const report = await initBackend();
  const chosen = report.backend;
  if (chosen === 'cpu') return undefined;
  const bad = untrainableLayers(target, chosen);
  if (bad.length > 0) {
    await tf.setBackend('cpu');
    return `no backend was chosen, and '${chosen}' cannot train ${bad.map((b) => b.layer).join(', ')}: ${what} stays on 'cpu'. Install @tensorflow/tfjs-node for speed, or call initBackend() yourself.`;
  }
  return `no backend was chosen (initBackend was not called): ${what} chose '${chosen}', the fastest that loads, instead of tfjs's default 'cpu'. Call initBackend() before training to choose yourself (initBackend({ backend: 'cpu' }) keeps cpu).`;
}

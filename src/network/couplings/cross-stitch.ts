import type * as tf from '@tensorflow/tfjs';
import { PlanError } from '../../errors.js';
import type { CrossStitchCoupling } from '../../plan/types.js';
import { Columns } from '../layers/columns.js';
import { CrossStitch } from '../layers/cross-stitch.js';
import { registerCouplingBuilder } from './registry.js';

/** A cross-stitch coupling mixes the towers of its tasks after tower layer `after`, in a CrossStitch layer. */
export const crossStitchCoupling = registerCouplingBuilder<CrossStitchCoupling>({
  kind: 'cross-stitch',
  layerClasses: ['CrossStitch', 'MtgraphColumns'],
  layerName: (c, i) => `cross-stitch${i}.after${c.after}`,
  partNames: (c, i) => c.tasks.map((t) => `cross-stitch${i}.after${c.after}.${t}`),
  check(c, plan, path) {
    const k = c.tasks.length;
    if (k === 0)
      throw new PlanError(
        `mtgraph/build: a cross-stitch coupling needs tasks (got none) → at ${path}.tasks. List the tasks it mixes.`,
        { path: `${path}.tasks` },
      );
    if (new Set(c.tasks).size !== k)
      throw new PlanError(
        `mtgraph/build: a cross-stitch coupling lists a task twice → at ${path}.tasks. List each task once.`,
        { path: `${path}.tasks`, got: c.tasks },
      );
    if (
      c.alpha.length !== k ||
      c.alpha.some((row) => row.length !== k || row.some((x) => !Number.isFinite(x)))
    ) {
      throw new PlanError(
        `mtgraph/build: alpha must be a ${k} x ${k} matrix of finite numbers, one row and column per task → at ${path}.alpha.`,
        { path: `${path}.alpha` },
      );
    }
    let units: number | undefined;
    for (const t of c.tasks) {
      const layer = plan.towers[t]?.layers[c.after];
      if (!layer)
        throw new PlanError(
          `mtgraph/build: cross-stitch after tower layer ${c.after}, but the tower of "${t}" has ${plan.towers[t]?.layers.length ?? 0} layer(s) → at ${path}.after. Mix after a layer every listed tower has.`,
          { path: `${path}.after`, got: c.after },
        );
      if (units !== undefined && layer.units !== units) {
        throw new PlanError(
          `mtgraph/build: cross-stitch mixes towers of one width, but tower layer ${c.after} of "${t}" has ${layer.units} units (others ${units}) → at ${path}. Give the mixed towers the same units.`,
          { path, got: layer.units },
        );
      }
      units = layer.units;
    }
  },
  afterTowerLayer(c, index, layer, towers, ctx) {
    if (c.after !== layer) return;
    const unit = ctx.track(
      new CrossStitch({ alpha: c.alpha, name: ctx.names.couplings.get(index)! }),
    );
    const mixed = unit.apply(c.tasks.map((t) => towers.get(t)!)) as tf.SymbolicTensor;
    const units = mixed.shape[1]! / c.tasks.length;
    const parts = ctx.names.couplingParts.get(index)!;
    c.tasks.forEach((t, i) => {
      const take = ctx.track(
        new Columns({ begin: i * units, size: units, activation: 'linear', name: parts[i]! }),
      );
      towers.set(t, take.apply(mixed) as tf.SymbolicTensor);
    });
  },
});

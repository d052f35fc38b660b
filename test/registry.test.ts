/** createRegistry: the one registry behind strategies, balancing, losses, metrics, optimizers, heads, couplings and affinity methods. */
import { describe, expect, it } from 'vitest';
import {
  affinityMethodNames,
  balanceNames,
  lossNames,
  metricNames,
  optimizerNames,
  strategyNames,
} from '../src/index.js';
import { couplingKinds } from '../src/network/couplings/registry.js';
import { headKinds } from '../src/network/heads/registry.js';
import { createRegistry } from '../src/registry.js';

describe('createRegistry', () => {
  it('createRegistry keeps registration order, and a later entry under a name replaces the earlier', () => {
    const r = createRegistry<{ name: string; v: number }>((e) => e.name);
    const a = { name: 'a', v: 1 };
    expect(r.register(a)).toBe(a);
    r.register({ name: 'b', v: 2 });
    r.register({ name: 'a', v: 3 });
    expect(r.names()).toEqual(['a', 'b']);
    expect(r.get('a')?.v).toBe(3);
    expect(r.get('missing')).toBeUndefined();
    expect(r.get('toString')).toBeUndefined();
  });

  it('createRegistry names an entry by several names (a head by its kinds) and lists it once', () => {
    const r = createRegistry<{ kinds: string[] }>((e) => e.kinds);
    const both = { kinds: ['binary', 'multilabel'] };
    r.register(both);
    expect(r.names()).toEqual(['binary', 'multilabel']);
    expect(r.get('multilabel')).toBe(both);
    expect(r.values()).toEqual([both]);
  });

  it("the eight registries list mtgraph's built-in entries", () => {
    expect(strategyNames()).toEqual(
      expect.arrayContaining(['single', 'hard', 'clustered', 'soft']),
    );
    expect(balanceNames()).toEqual(expect.arrayContaining(['static', 'uncertainty', 'gradnorm']));
    expect(lossNames()).toEqual(expect.arrayContaining(['mse', 'binary-crossentropy']));
    expect(metricNames()).toEqual(expect.arrayContaining(['auc', 'accuracy', 'r2']));
    expect(optimizerNames()).toEqual(expect.arrayContaining(['adam', 'sgd', 'rmsprop']));
    expect(headKinds()).toEqual(expect.arrayContaining(['regression', 'binary', 'multiclass']));
    expect(couplingKinds()).toEqual(expect.arrayContaining(['laplacian', 'cross-stitch']));
    expect(affinityMethodNames()).toEqual(expect.arrayContaining(['lookahead']));
  });
});

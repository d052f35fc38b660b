import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  generateTaskFamily,
  compile,
  fit,
  evaluate,
  predict,
  plan,
  OptionsError,
  FileError,
  saveEnsemble,
  loadEnsemble,
  loadModel,
} from '../../src/index.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateEnsemble, fitEnsemble, predictEnsemble, tune } from '../../src/tune/index.js';
import { evaluateWithPredictions, scorePredictions } from '../../src/train/evaluate.js';
import { prepareData } from '../../src/data/prepare.js';
import { LabelledRows, selectEnsemble } from '../../src/tune/ensemble.js';
import { scaled } from '../timeouts.js';

describe('tune ensemble', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('scorePredictions scores host predictions exactly as evaluate scores the model', async () => {
    const family = generateTaskFamily({ seed: 5, trainRows: 60, groups: 2, tasksPerGroup: 2 });
    const model = compile(family.graph, { strategy: 'hard', trunk: { units: [8] }, seed: 1 });
    try {
      await fit(model, family.train, { epochs: 3, seed: 1 });
      const before = tf.memory().numTensors;
      const { evaluation, predictions, prepared } = await evaluateWithPredictions(
        model,
        family.test,
      );
      expect(evaluation).toEqual(await evaluate(model, family.test));
      const again = scorePredictions(model.plan, prepared, predictions);
      for (const [task, scores] of Object.entries(evaluation)) {
        for (const [name, v] of Object.entries(scores))
          expect(again[task]![name]).toBeCloseTo(v, 5);
      }
      // Other predictions score differently: halving them raises every task's loss.
      const halved = scorePredictions(
        model.plan,
        prepared,
        predictions.map((p) => p.map((v) => v / 2)),
      );
      for (const task of Object.keys(evaluation))
        expect(halved[task]!.loss).not.toBeCloseTo(evaluation[task]!.loss!, 3);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('ensemble selection averages trials whose errors differ, and keeps a lone good trial alone', () => {
    const family = generateTaskFamily({ seed: 6, trainRows: 40, groups: 2, tasksPerGroup: 2 });
    const p = plan(family.graph, { strategy: 'hard' });
    const prepared = prepareData(p, family.test, { scope: 'test' });
    const rows = new LabelledRows(p, prepared);
    const truth = prepared.tasks.map((t) => t.labels);
    const order = p.tasks.map((t) => t.id);
    // Three "trials": the truth plus independent noise of the same size; one far off.
    let state = 7;
    const noise = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state / 2 ** 32 - 0.5) * 2;
    };
    const noisy = () =>
      rows.compact(
        truth.map((y) => y.map((v) => v + noise())),
        order,
      );
    const bad = rows.compact(
      truth.map((y) => y.map((v) => v + 5)),
      order,
    );
    const meanR2 = (e: Record<string, Record<string, number>>) =>
      order.reduce((s, t) => s + e[t]!.r2!, 0) / order.length;
    const pool = [noisy(), noisy(), noisy(), bad].map((predictions, trial) => ({
      trial,
      value: 0,
      predictions,
    }));
    const single = pool.map((q) => meanR2(rows.score(q.predictions)));
    const chosen = selectEnsemble(pool, 6, rows, meanR2);
    expect(chosen.counts[3]).toBe(0);
    expect(chosen.counts.filter((c) => c > 0).length).toBeGreaterThanOrEqual(2);
    expect(chosen.value).toBeGreaterThan(Math.max(...single) + 0.05);
    expect(chosen.value).toBeCloseTo(meanR2(chosen.evaluation), 10);
    // A trial equal to the truth cannot be improved on: chosen alone.
    const exact = rows.compact(truth, order);
    const alone = selectEnsemble(
      [{ trial: 9, value: 0, predictions: exact }, ...pool],
      5,
      rows,
      meanR2,
    );
    expect(alone.counts).toEqual([1, 0, 0, 0, 0]);
    expect(alone.value).toBeCloseTo(1, 6);
  });

  it('tune returns an ensemble chosen on validation rows; fitEnsemble + predictEnsemble give its weighted mean', {
    timeout: scaled(120_000),
  }, async () => {
    const family = generateTaskFamily({ seed: 2, trainRows: 80, groups: 2, tasksPerGroup: 2 });
    const result = await tune(family.graph, family.train, {
      strategies: ['hard', 'single'],
      budget: { trials: 8 },
      schedule: { minEpochs: 3, eta: 3, maxEpochs: 9 },
      objective: 'mean',
      ensemble: 8,
    });
    const ensemble = result.ensemble!;
    expect(ensemble.rounds).toBe(8);
    // Seeded: two trials (3 and 7) share it, 0.6 / 0.4, well above the best alone (validation mean r2 0.53 vs 0.44).
    expect(ensemble.members.length).toBeGreaterThanOrEqual(2);
    expect(ensemble.members.reduce((s, m) => s + m.weight, 0)).toBeCloseTo(1, 10);
    for (const m of ensemble.members) {
      const t = result.trials[m.trial]!;
      expect(m.planOptions).toEqual(t.planOptions);
      expect(m.fitOptions.epochs).toBe(t.bestEpochs);
    }
    // Weights are counts over the rounds kept (the best prefix of the 8).
    const kept = [1, 2, 3, 4, 5, 6, 7, 8].find((k) =>
      ensemble.members.every((m) => Math.abs(m.weight * k - Math.round(m.weight * k)) < 1e-9),
    );
    expect(kept).toBeDefined();
    // The best prefix of the rounds: never below the best single trial on the validation rows.
    const bestTrial = Math.max(
      ...result.trials.filter((t) => t.status === 'done').map((t) => t.value),
    );
    expect(ensemble.score.value).toBeGreaterThan(bestTrial + 0.02);
    expect(ensemble.score.objective).toBe('mean');

    const before = tf.memory().numTensors;
    const trained = await fitEnsemble(family.graph, family.train, ensemble);
    try {
      expect(trained.members).toHaveLength(ensemble.members.length);
      const mean = predictEnsemble(trained, family.test.x);
      const parts = trained.members.map((m) => predict(m.model, family.test.x));
      for (const task of family.graph.nodes()) {
        const expected = new Float32Array(mean[task]!.size);
        parts.forEach((out, i) => {
          const v = out[task]!.dataSync();
          for (let k = 0; k < v.length; k++)
            expected[k] = expected[k]! + trained.members[i]!.weight * v[k]!;
        });
        const got = mean[task]!.dataSync();
        for (let k = 0; k < got.length; k++) expect(got[k]).toBeCloseTo(expected[k]!, 5);
      }
      // evaluateEnsemble scores the mean as evaluate scores a model; one member of weight 1 is that model.
      const scored = evaluateEnsemble(trained, family.test);
      const byHand = scorePredictions(
        trained.members[0]!.model.plan,
        prepareData(trained.members[0]!.model.plan, family.test, { scope: 'test' }),
        trained.members[0]!.model.plan.tasks.map((t) => mean[t.id]!.dataSync() as Float32Array),
      );
      expect(scored).toEqual(byHand);
      const alone = evaluateEnsemble(
        { members: [{ model: trained.members[0]!.model, weight: 1 }], dispose() {} },
        family.test,
      );
      const own = await evaluate(trained.members[0]!.model, family.test);
      for (const task of Object.keys(own))
        for (const [k, v] of Object.entries(own[task]!)) expect(alone[task]![k]).toBeCloseTo(v, 5);
      const arrays = predictEnsemble(trained, family.test.x, { as: 'arrays' });
      expect(arrays[family.graph.nodes()[0]!]!.values[0]![0]).toBeCloseTo(
        mean[family.graph.nodes()[0]!]!.dataSync()[0]!,
        5,
      );
      tf.dispose(Object.values(mean));
      for (const out of parts) tf.dispose(Object.values(out));
    } finally {
      trained.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('saveEnsemble / loadEnsemble: a folder and files in memory give the same predictions; a damaged ensemble.json is a FileError', {
    timeout: scaled(60_000),
  }, async () => {
    const family = generateTaskFamily({ seed: 3, trainRows: 50, groups: 2, tasksPerGroup: 2 });
    const member = (strategy: string, weight: number) => ({
      trial: 0,
      weight,
      strategy,
      space: strategy,
      planOptions: { strategy, trunk: { units: [8] }, seed: 2 },
      fitOptions: { epochs: 2, seed: 2 },
    });
    const trained = await fitEnsemble(family.graph, family.train, {
      members: [member('hard', 0.75), member('single', 0.25)],
      rounds: 4,
      score: { objective: 'mean', value: 0, tasks: {} },
    });
    // seeds: 2 trains each member twice (seed +0, +1): four models, the first the same as seeds 1's.
    const bagged = await fitEnsemble(
      family.graph,
      family.train,
      {
        members: [member('hard', 0.75), member('single', 0.25)],
        rounds: 4,
        score: { objective: 'mean', value: 0, tasks: {} },
      },
      { seeds: 2 },
    );
    try {
      expect(bagged.members.map((m) => m.weight)).toEqual([0.375, 0.375, 0.125, 0.125]);
      expect(bagged.members[1]!.model.plan.seed).toBe(3);
      const first = predict(bagged.members[0]!.model, family.test.x, { as: 'arrays' });
      const second = predict(bagged.members[1]!.model, family.test.x, { as: 'arrays' });
      expect(first).toEqual(predict(trained.members[0]!.model, family.test.x, { as: 'arrays' }));
      expect(second).not.toEqual(first);
    } finally {
      bagged.dispose();
    }
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtgraph-ensemble-'));
    try {
      const expected = predictEnsemble(trained, family.test.x, { as: 'arrays' });
      await saveEnsemble(trained, path.join(dir, 'e'));
      const files = await saveEnsemble(trained);
      expect(Object.keys(files.files)).toContain('member-2.weights.bin');
      for (const loaded of [await loadEnsemble(path.join(dir, 'e')), await loadEnsemble(files)]) {
        try {
          expect(loaded.members.map((m) => m.weight)).toEqual([0.75, 0.25]);
          expect(loaded.members.map((m) => m.model.plan.strategy)).toEqual(['hard', 'single']);
          expect(predictEnsemble(loaded, family.test.x, { as: 'arrays' })).toEqual(expected);
        } finally {
          loaded.dispose();
        }
      }
      // An ensemble folder is not a model folder: loadModel says what it is and what reads it.
      await expect(loadModel(path.join(dir, 'e'))).rejects.toThrow(
        /is not an mtgraph model folder: it holds an ensemble \(ensemble\.json.*mtgraph predict and eval read it/,
      );
      const marker = path.join(dir, 'e', 'ensemble.json');
      const text = await fs.readFile(marker, 'utf8');
      await fs.writeFile(marker, text.replace('0.75', '0.7'));
      await expect(loadEnsemble(path.join(dir, 'e'))).rejects.toThrow(
        /is not an mtgraph ensemble file: the members' weights sum to 0\.95, not 1/,
      );
      await fs.writeFile(marker, text);
      // A member's file changed after the save: its checksum says so.
      await fs.appendFile(path.join(dir, 'e', 'member-2.plan.json'), ' ');
      await expect(loadEnsemble(path.join(dir, 'e'))).rejects.toThrow(FileError);
      await expect(loadEnsemble(path.join(dir, 'nothing'))).rejects.toThrow(FileError);
    } finally {
      trained.dispose();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("a long search keeps only the best 16 trials' predictions; the ensemble comes from them", {
    timeout: scaled(120_000),
  }, async () => {
    const family = generateTaskFamily({ seed: 4, trainRows: 40, groups: 2, tasksPerGroup: 2 });
    const result = await tune(family.graph, family.train, {
      strategies: ['hard'],
      budget: { trials: 40 },
      schedule: { minEpochs: 1, eta: 3, maxEpochs: 1 },
      objective: 'mean',
      ensemble: 6,
    });
    expect(result.trials).toHaveLength(40);
    const top = [...result.trials]
      .filter((t) => t.status === 'done')
      .sort((a, b) => b.value - a.value)
      .slice(0, 16)
      .map((t) => t.id);
    for (const m of result.ensemble!.members) expect(top).toContain(m.trial);
    expect(result.ensemble!.score.value).toBeGreaterThanOrEqual(
      top.length ? result.trials[top[0]!]!.value - 1e-9 : 0,
    );
  });

  it('without options.ensemble there is no ensemble; bad ensembles get OptionsErrors', async () => {
    const family = generateTaskFamily({ seed: 1, trainRows: 30, groups: 2, tasksPerGroup: 2 });
    const result = await tune(family.graph, family.train, {
      strategies: ['hard'],
      budget: { trials: 1 },
      schedule: { minEpochs: 2, eta: 2, maxEpochs: 2 },
    });
    expect(result.ensemble).toBeUndefined();
    await expect(
      tune(family.graph, family.train, { ensemble: -1 }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OptionsError: mtgraph/tune: ensemble must be at least 0 (got -1). Use e.g. ensemble: 10. → at options.ensemble]`,
    );
    await expect(
      fitEnsemble(family.graph, family.train, { members: [], rounds: 1 } as never),
    ).rejects.toThrow(OptionsError);
    const okEnsemble = {
      members: [
        {
          trial: 0,
          weight: 1,
          strategy: 'hard',
          space: 'hard',
          planOptions: { strategy: 'hard' },
          fitOptions: { epochs: 1 },
        },
      ],
      score: { objective: 'mean', value: 0, tasks: {} },
    };
    const member = {
      trial: 0,
      weight: 0.5,
      strategy: 'hard',
      space: 'hard',
      planOptions: { strategy: 'hard' },
      fitOptions: { epochs: 1 },
    };
    await expect(
      fitEnsemble(family.graph, family.train, {
        members: [member],
        rounds: 2,
        score: { objective: 'mean', value: 0, tasks: {} },
      }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OptionsError: mtgraph/fitEnsemble: the members' weights must sum to 1 (got 0.5) → at ensemble.members. Pass tune's result.ensemble unchanged, or divide each weight by their sum.]`,
    );
    expect(() => predictEnsemble({ members: [], dispose() {} }, [[0]])).toThrow(OptionsError);
    await expect(
      fitEnsemble(family.graph, family.train, { ...okEnsemble, rounds: 1 }, { seeds: 0 }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OptionsError: mtgraph/fitEnsemble: options.seeds must be a whole number from 1 to 100 (got 0) → at options.seeds. Use e.g. seeds: 3.]`,
    );
  });
});

import path from 'node:path';
import type { Command } from 'commander';
import { outputOptions, seedOption, wholeNumber } from '../options.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';
import type { Output } from '../io.js';

interface DemoFlags {
  seed: number;
  epochs: number;
  out: string;
  quiet?: boolean;
  json?: boolean;
}

const STRATEGIES = ['single', 'hard', 'clustered', 'soft'] as const;

/**
 * The embedded default job (`mtgraph demo`, `npm run demo`): a generated family of 12 regression
 * tasks in 3 groups (one conflicting pair, little data, 20 % of the labels missing) trained with
 * single, hard, clustered and soft sharing on the same budget; compares the test MSE, saves the
 * best model to `<out>/demo-model` and writes `<out>/report.html`.
 */
export async function runDemo(flags: DemoFlags, out: Output): Promise<void> {
  const started = performance.now();
  const tf = await import('@tensorflow/tfjs');
  const { generateTaskFamily } = await import('../../synthetic/task-family.js');
  const { compile } = await import('../../network/index.js');
  const { fit, evaluate, predict } = await import('../../train/index.js');
  const { loadModel, checkOutputs, commitOutputs, modelFolderFiles, MODEL_FOLDER } = await import(
    '../../io/index.js'
  );
  const { renderReport } = await import('../../viz/index.js');
  const { seed, epochs } = flags;
  const modelDir = path.join(flags.out, 'demo-model');
  const reportFile = path.join(flags.out, 'report.html');
  const outputs = [
    { type: 'folder', path: modelDir, kind: MODEL_FOLDER, flag: '--out' },
    { type: 'file', path: reportFile, what: 'report', flag: '--out' },
  ] as const;
  await checkOutputs(outputs);
  const backend = await startBackend(out);

  const family = generateTaskFamily({ seed, trainRows: 150 });
  const tasks = family.graph.nodes();
  out.info(`${family.graph.getAttribute('description')}`);
  out.info(
    `true groups: ${family.truth.groups.map((g) => `{${g.join(', ')}}`).join(' ')}; conflicting pair: ${family.truth.conflict.join(' / ')}`,
  );

  // The same network budget for every strategy: a 4-unit trunk (copied per task where nothing is shared).
  const options = { trunk: { units: [4] }, seed, soft: { strength: 0.01 } };
  const fitOptions = {
    epochs,
    batchSize: 16,
    seed,
    optimizer: { name: 'adam', learningRate: 0.01 },
  };
  type Result = {
    mse: Record<string, number>;
    mean: number;
    seconds: number;
    model: Awaited<ReturnType<typeof compile>>;
    history: Awaited<ReturnType<typeof fit>>;
    scores: Awaited<ReturnType<typeof evaluate>>;
  };
  const results: Partial<Record<(typeof STRATEGIES)[number], Result>> = {};
  try {
    for (const strategy of STRATEGIES) {
      const t0 = performance.now();
      const model = compile(family.graph, { ...options, strategy });
      results[strategy] = { model } as Result;
      const history = await fit(model, family.train, fitOptions);
      const scores = await evaluate(model, family.test);
      const mse = Object.fromEntries(tasks.map((t) => [t, scores[t]!.mse!]));
      const mean = tasks.reduce((s, t) => s + mse[t]!, 0) / tasks.length;
      const seconds = (performance.now() - t0) / 1000;
      results[strategy] = { mse, mean, seconds, model, history, scores };
      out.info(
        `trained ${strategy.padEnd(9)} ${model.plan.params.total.toLocaleString('en-US').padStart(6)} params, joint train loss (sum over tasks) ${history.loss[0]!.toFixed(2)} -> ${history.loss.at(-1)!.toFixed(2)}, ${seconds.toFixed(1)} s`,
      );
    }
    const r = (s: (typeof STRATEGIES)[number]) => results[s]!;
    const groups = r('clustered').model.plan.groups ?? [];
    const w = 10;
    const lines = [
      `test MSE per task (lower is better; noise floor 0.09)`,
      '',
      `${'task'.padEnd(8)}${STRATEGIES.map((s) => s.padStart(w)).join('')}`,
    ];
    for (const t of tasks) {
      const row = STRATEGIES.map((s) => r(s).mse[t]!);
      const best = Math.min(...row);
      lines.push(
        `${t.padEnd(8)}${row.map((v) => `${v === best ? '*' : ' '}${v.toFixed(3)}`.padStart(w)).join('')}`,
      );
    }
    lines.push(
      `${'mean'.padEnd(8)}${STRATEGIES.map((s) => r(s).mean.toFixed(3).padStart(w)).join('')}`,
    );
    const ranked = [...STRATEGIES].sort((a, b) => r(a).mean - r(b).mean);
    const best = ranked[0]!;
    const baselines = Math.min(r('single').mean, r('hard').mean);
    const graphAware = ['clustered', 'soft'] as const;
    const beats = graphAware.filter((s) => r(s).mean < baselines);
    lines.unshift(
      `clustered found ${groups.length} group(s): ${groups.map((g) => `{${g.join(', ')}}`).join(' ')}`,
      '',
    );
    lines.push(
      '',
      `best: ${best} (mean test MSE ${r(best).mean.toFixed(3)}); graph-aware strategies beating both single and hard: ${beats.length ? beats.join(' and ') : 'none'} ` +
        `(${graphAware.map((s) => `${s} ${(100 * (1 - r(s).mean / baselines)).toFixed(0)}% lower`).join(', ')} than the better baseline)`,
    );

    // Save the best model with its report, load it back, check the predictions agree.
    const winner = r(best);
    winner.model.metadata = {
      ...winner.model.metadata,
      training: {
        data: 'generateTaskFamily',
        seed,
        epochs,
        strategy: best,
        scoredOn: 'test',
        metrics: winner.scores,
        history: winner.history,
      },
    };
    const html = await renderReport(
      {
        graph: family.graph,
        plan: winner.model.plan,
        history: winner.history,
        metrics: winner.scores,
      },
      { seed, title: `mtgraph demo: ${best} sharing on a generated task family` },
    );
    await commitOutputs([
      [outputs[0], await modelFolderFiles(winner.model)],
      [outputs[1], html],
    ]);
    const again = await loadModel(modelDir);
    const x = tf.tensor2d(family.test.x.slice(0, 64));
    const a = predict(winner.model, x);
    const b = predict(again, x);
    const diff = Math.max(
      ...tasks.map((t) => tf.tidy(() => tf.max(tf.abs(tf.sub(a[t]!, b[t]!))).dataSync()[0]!)),
    );
    tf.dispose([x, ...Object.values(a), ...Object.values(b)]);
    again.dispose();
    const seconds = (performance.now() - started) / 1000;
    lines.push(
      `saved ${best} to ${shown(modelDir)}; reloaded, max |difference| of predictions ${diff.toExponential(1)}`,
      `report: ${shown(reportFile)} (open it in a browser)`,
      '',
      `done in ${seconds.toFixed(1)} s`,
    );
    out.data({
      ok: true,
      backend,
      seed,
      epochs,
      best,
      model: modelDir,
      report: reportFile,
      seconds,
      strategies: Object.fromEntries(
        STRATEGIES.map((s) => [
          s,
          {
            meanMse: r(s).mean,
            mse: r(s).mse,
            params: r(s).model.plan.params.total,
            seconds: r(s).seconds,
          },
        ]),
      ),
      groups,
      beats,
    });
    out.result(lines.join('\n'));
  } finally {
    for (const s of STRATEGIES) results[s]?.model.dispose();
  }
}

export function demoCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('demo')
    .description(
      'the embedded default job: compare sharing strategies on a generated task family; writes <out>/report.html',
    )
    .option('-e, --epochs <n>', 'epochs per strategy', wholeNumber(1), 100)
    .option('-o, --out <dir>', 'folder for demo-model/ and report.html', 'out');
  seedOption(cmd, 'the generated data, the plans and the training', 2);
  outputOptions(cmd);
  cmd.action(async (flags: DemoFlags) => {
    await runDemo(flags, outputOf(ctx, flags));
  });
}

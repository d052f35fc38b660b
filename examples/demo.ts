/**
 * The main job, as a script: the same as `npm run demo` / `mtgraph demo` (src/cli/commands/demo.ts).
 * A generated family of 12 regression tasks in 3 groups is trained with `single`, `hard`,
 * `clustered` and `soft` sharing on the same budget; the per-task test table shows what the graph
 * buys; the best model is saved to out/demo-model and the report to out/report.html.
 *
 * Run: npx tsx examples/demo.ts [--seed 2] [--epochs 100] [--out out]
 */
import { run } from '../src/cli/index.js';

process.exitCode = await run(['demo', ...process.argv.slice(2)]);

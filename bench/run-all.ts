/**
 * Runs every benchmark in turn and prints each one's table (`npm run bench`, or
 * `npm run bench -- --quick` for a few-minute version). Each benchmark is its own process, so
 * one's backend state or memory does not colour the next.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const here = path.dirname(fileURLToPath(import.meta.url));
/** [script, arguments in full mode, arguments in quick mode] */
const BENCHES: Array<[string, string[], string[]]> = [
  ['plan.ts', [], ['--runs', '3']],
  ['train.ts', [], ['--quick']],
  ['balance.ts', [], ['--quick']],
  ['soft-strength.ts', [], ['--quick']],
  ['speed.ts', ['--rounds', '5'], ['--rounds', '2', '--rows', '4096']],
  ['viz.ts', [], ['--sizes', '100,1000', '--runs', '2']],
  ['quality/small.ts', [], ['--quick']],
  ['quality/school.ts', [], ['--quick']],
  ['quality/census.ts', [], ['--quick']],
  ['quality/multilabel.ts', [], ['--quick']],
  // mtgraph against PyTorch (issue 18): only when `python3 -c "import torch"` works (see vs-torch.ts).
  ['vs-torch.ts', [], ['--epochs', '2', '--alternations', '1']],
];

/** Whether Debian's PyTorch imports (vs-torch.ts needs it). */
function torchImports(): boolean {
  const python = process.env.MTGRAPH_TORCH_PYTHON ?? '/usr/bin/python3';
  return spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

let failed = 0;
for (const [script, full, short] of BENCHES) {
  const file = path.join(here, script);
  if (!existsSync(file)) continue;
  if (script === 'vs-torch.ts' && !torchImports()) {
    console.log('\n(bench/vs-torch.ts skipped: PyTorch does not import)');
    continue;
  }
  const args = quick ? short : full;
  const command = `npx tsx bench/${script}${args.length ? ` ${args.join(' ')}` : ''}`;
  console.log(`\n## ${command}\n`);
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [path.join(here, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), file, ...args],
    { stdio: 'inherit' },
  );
  console.log(
    `\n(${command}: ${result.status === 0 ? 'done' : `exit ${result.status}`} in ${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  if (result.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;

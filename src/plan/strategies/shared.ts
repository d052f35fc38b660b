import type { StrategyContext } from '../registry.js';
import type { LayerPlan, TowerPlan } from '../types.js';

/** Towers for every task: `parent(task)` below, then `before(task)` layers, then the task's own tower layers. */
export function towersFor(
  ctx: StrategyContext,
  parent: (task: string) => string | null,
  before: (task: string) => LayerPlan[] = () => [],
): Record<string, TowerPlan> {
  const towers: Record<string, TowerPlan> = {};
  for (const t of ctx.spec.tasks)
    towers[t.id] = { parent: parent(t.id), layers: [...before(t.id), ...ctx.towerLayers(t.id)] };
  return towers;
}

/** Copies of the trunk's layers (so no two parts of a plan share an object). */
export function trunkCopy(
  ctx: StrategyContext,
  from = 0,
  to = ctx.trunkLayers.length,
): LayerPlan[] {
  return ctx.trunkLayers.slice(from, to).map((l) => ({ ...l }));
}

/** Notes naming the conflicting pairs a fully shared strategy cannot keep apart. */
export function conflictNotes(ctx: StrategyContext, strategy: string): string[] {
  const bad = ctx.spec.affinities.filter((a) => a.weight < 0 || a.sharing === 'none');
  if (bad.length === 0) return [];
  const shown = bad
    .slice(0, 5)
    .map((a) => `${a.source}/${a.target} (${a.weight})`)
    .join(', ');
  const more = bad.length > 5 ? ` and ${bad.length - 5} more` : '';
  return [
    `warning: ${bad.length} conflicting pair(s) share every layer under '${strategy}': ${shown}${more}. Consider 'clustered', 'tree' or 'soft', which keep them apart.`,
  ];
}

/** "a, b, c and 4 more" */
export function listNames(names: readonly string[], max = 8): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

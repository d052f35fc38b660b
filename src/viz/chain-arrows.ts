import { chainParents } from '../schema/chains.js';
import { escapeXml } from './escape.js';

/** Colour of the task-chain arrows (condition and reads). */
export const CHAIN_COLOR = '#7b3fa0';

const num = (v: number) => String(Math.round(v * 10) / 10);

/**
 * The task chains of a graph or plan as SVG arrows, from each task a task depends on (condition:
 * solid; reads: dashed) to the dependent task, ending at the circles' rims. Empty without chains.
 */
export function chainArrowsSvg(
  tasks: ReadonlyArray<{ id: string; kind: string; condition?: string; reads?: readonly string[] }>,
  at: (id: string) => { x: number; y: number; r: number } | undefined,
  idPrefix = 'chain',
): string {
  const lines: string[] = [];
  for (const t of tasks) {
    const to = at(t.id);
    if (!to) continue;
    for (const from of chainParents(t)) {
      const a = at(from);
      if (!a) continue;
      const dx = to.x - a.x;
      const dy = to.y - a.y;
      const len = Math.hypot(dx, dy) || 1;
      const x1 = a.x + (dx / len) * a.r;
      const y1 = a.y + (dy / len) * a.r;
      const x2 = to.x - (dx / len) * (to.r + 3);
      const y2 = to.y - (dy / len) * (to.r + 3);
      const kind = from === t.condition ? 'condition' : 'reads';
      lines.push(
        `<line class="${kind}" x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}"${kind === 'reads' ? ' stroke-dasharray="4 3"' : ''} marker-end="url(#${idPrefix}-arrow)"><title>${escapeXml(`${from} -> ${t.id} (${kind})`)}</title></line>`,
      );
    }
  }
  if (lines.length === 0) return '';
  return [
    `<defs><marker id="${idPrefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${CHAIN_COLOR}"/></marker></defs>`,
    `<g class="chains" stroke="${CHAIN_COLOR}" stroke-width="2" fill="none">${lines.join('')}</g>`,
  ].join('');
}

import { describe, expect, it } from 'vitest';
import { explain, plan, renderGraphSvg, renderPlanSvg, TaskGraph } from '../../src/index.js';

function graph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 4 } });
  g.addTask('click', { kind: 'binary' });
  g.addTask('purchase', { kind: 'binary', condition: 'click' } as never);
  g.addTask('cart', { kind: 'binary', reads: ['click'] } as never);
  g.addAffinity('click', 'purchase', { weight: 0.5 });
  return g;
}

describe('task chains in pictures and in the plan', () => {
  it('renderGraphSvg draws one arrow per chain link (condition solid, reads dashed)', () => {
    const svg = renderGraphSvg(graph(), { seed: 1 });
    expect(svg).toContain('<g class="chains"');
    expect(svg.match(/<line class="condition"/g)).toHaveLength(1);
    expect(svg.match(/<line class="reads"[^>]*stroke-dasharray/g)).toHaveLength(1);
    expect(svg).toContain('click -&gt; purchase (condition)');
    const plain = new TaskGraph({ input: { features: 4 } });
    plain.addTask('a', { kind: 'binary' });
    expect(renderGraphSvg(plain, { seed: 1 })).not.toContain('class="chains"');
  });

  it('renderPlanSvg and explain show the chains', () => {
    const p = plan(graph(), { strategy: 'hard', trunk: { units: [8] } });
    const svg = renderPlanSvg(p);
    expect(svg.match(/stroke="#7b3fa0" stroke-width="2"/g)?.length).toBe(2);
    const text = explain(p);
    expect(text).toContain('task chains:');
    expect(text).toContain(
      'click -> purchase (condition): predicts p(click) × p(purchase | click)',
    );
    expect(text).toContain('click -> cart (reads)');
  });
});

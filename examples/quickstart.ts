// The README's snippet: declare a task graph, compile it with two strategies, read the plan.
import { TaskGraph, plan, explain } from '../src/index.js';

const g = new TaskGraph({ input: { features: 10 }, name: 'quickstart' });
g.addTask('click', { kind: 'binary' });
g.addTask('segment', { kind: 'multiclass', classes: 3 });
g.addTask('watch_time', { kind: 'regression', loss: 'huber' });
g.addAffinity('click', 'segment', { weight: 0.7 });
g.addAffinity('click', 'watch_time', { weight: -0.3 }); // conflicting: never hard-shared

const p = plan(g, { strategy: 'auto', trunk: { units: [32] } });
console.log(explain(p));
console.log(plan(g, { strategy: 'soft' }).couplings);

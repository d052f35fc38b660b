/**
 * The main job (`npm run demo`): compiles every example task graph in graphs/ and prints why
 * each task went where. (Training lands with the build-and-train work.)
 */
import { planGraphs } from './plan-graphs.js';

console.log('mtgraph demo: compiling the example task graphs in graphs/ with strategy "auto"');
await planGraphs('auto');

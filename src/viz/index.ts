/** Pictures of task graphs, plans and training runs: SVG, GEXF, GraphML and a self-contained HTML report. */
export { renderGraphSvg, layoutGraph, ALL_LABELS_UP_TO } from './graph-svg.js';
export { toGexf } from './gexf.js';
export { toGraphml } from './graphml.js';
export { renderPlanSvg } from './plan-svg.js';
export { renderReport, type ReportInput, type AffinityMatrix } from './report.js';
export {
  autoIterations,
  BARNES_HUT_FROM,
  ITERATION_BUDGET,
  MIN_ITERATIONS,
  MAX_ITERATIONS,
} from './layout.js';
export {
  GRAPH_SVG_DEFAULTS,
  PLAN_SVG_DEFAULTS,
  REPORT_DEFAULTS,
  type GraphSvgOptions,
  type LayoutOptions,
  type GexfOptions,
  type GraphmlOptions,
  type PlanSvgOptions,
  type ReportOptions,
  type SizeFunction,
} from './options.js';
export { escapeXml } from './escape.js';

/** graphology graphs whose node ids may be Object.prototype names (`toString`, `valueOf`...). */

type NodeDataClass = new (key: string, attributes: unknown) => { undirected: object };
const safeNodeData = new WeakMap<NodeDataClass, NodeDataClass>();

/** The prototype of a node's neighbour index: nothing but the `hasOwnProperty` graphology calls. */
const NEIGHBOURS = Object.create(null, {
  hasOwnProperty: { value: Object.prototype.hasOwnProperty },
}) as object;

/**
 * graphology (0.26) keeps each node's neighbours in a plain `{}` keyed by neighbour id, so an id
 * such as `toString` or `valueOf` finds Object.prototype's method there and `addEdge` refuses
 * the edge ("an edge linking toString to valueOf already exists"). The nodes of a graph given
 * here (a TaskGraph, and the graphs mtgraph builds for Louvain, layouts and GEXF) keep their
 * neighbours in an object whose prototype holds only `hasOwnProperty` (which graphology calls on
 * it), so every id but `hasOwnProperty` and the three unsafe keys works. Returns the graph.
 */
export function safeNeighbours<G extends object>(graph: G): G {
  const holder = graph as { NodeDataClass?: NodeDataClass };
  const Base = holder.NodeDataClass;
  if (typeof Base !== 'function') return graph;
  let Safe = safeNodeData.get(Base);
  if (!Safe) {
    const base = Base as unknown as { prototype: { clear(this: { undirected: object }): void } };
    Safe = class extends Base {} as NodeDataClass;
    Object.defineProperty(Safe.prototype, 'clear', {
      value(this: { undirected: object }) {
        base.prototype.clear.call(this);
        this.undirected = Object.create(NEIGHBOURS);
      },
    });
    safeNodeData.set(Base, Safe);
  }
  holder.NodeDataClass = Safe;
  return graph;
}

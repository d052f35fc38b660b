import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { expect } from 'vitest';
import type { TaskGraph } from '../../src/index.js';
import { twoCliques } from '../fixtures.js';

/** Task ids that would run as markup if any renderer forgot to escape. */
export const HOSTILE = [
  '<script>alert(1)</script>',
  '"a&b"',
  "it's <b>bold</b> & 'quoted'",
] as const;

/** twoCliques plus tasks with hostile ids and labels, and a negative edge to one of them. */
export function hostileGraph(): TaskGraph {
  const g = twoCliques();
  g.addTask(HOSTILE[0], { kind: 'regression' });
  g.addTask(HOSTILE[1], { kind: 'multiclass', classes: ['x', 'y&z'] });
  g.addTask('labelled', { kind: 'binary', label: HOSTILE[2] });
  g.addAffinity(HOSTILE[0], 'a1', { weight: 0.5 });
  g.addAffinity(HOSTILE[1], 'b2', { weight: -0.9, sharing: 'none' });
  g.addAffinity('labelled', HOSTILE[0], { weight: 0.3 });
  return g;
}

/** Asserts that `xml` is well-formed XML (fast-xml-parser's validator) and returns it parsed with document order kept. */
export function parseXml(xml: string): unknown[] {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) expect.fail(`not well-formed XML: ${JSON.stringify(valid.err)}`);
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    htmlEntities: true,
    trimValues: false,
    parseTagValue: false,
    parseAttributeValue: false,
  });
  return parser.parse(xml) as unknown[];
}

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };

/** Every element named `tag`, depth first, with its attributes and its text content. */
export function elements(
  tree: unknown[],
  tag: string,
): Array<{ attrs: Record<string, string>; text: string; path: string[] }> {
  const out: Array<{ attrs: Record<string, string>; text: string; path: string[] }> = [];
  const textOf = (nodes: unknown[]): string =>
    nodes
      .map((n) => {
        const node = n as XmlNode;
        if ('#text' in node) return String(node['#text']);
        const name = Object.keys(node).find((k) => k !== ':@');
        return name ? textOf(node[name] as unknown[]) : '';
      })
      .join('');
  const walk = (nodes: unknown[], path: string[]) => {
    for (const n of nodes) {
      const node = n as XmlNode;
      const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text');
      if (!name) continue;
      const children = node[name] as unknown[];
      if (name === tag) out.push({ attrs: node[':@'] ?? {}, text: textOf(children), path });
      walk(children, [...path, node[':@']?.class ? `${name}.${node[':@'].class}` : name]);
    }
  };
  walk(tree, []);
  return out;
}

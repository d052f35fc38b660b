/** Colours shared by every picture: groups, task kinds, edges and plan parts. */

/** Group colours (Tableau-like, without the red kept for conflicting affinities). */
export const PALETTE: readonly string[] = Object.freeze([
  '#4c78a8',
  '#f58518',
  '#54a24b',
  '#b279a2',
  '#72b7b2',
  '#eeca3b',
  '#9d755d',
  '#ff9da6',
  '#2f4b7c',
  '#8cd17d',
  '#d37295',
  '#86bcb6',
]);

/** Colour of a task kind. */
export const KIND_COLORS: Readonly<Record<string, string>> = Object.freeze({
  regression: '#4c78a8',
  binary: '#f58518',
  multiclass: '#54a24b',
  multilabel: '#b279a2',
});

export const UNGROUPED_COLOR = '#a0a0a0';
export const POSITIVE_EDGE_COLOR = '#7f8c9a';
export const NEGATIVE_EDGE_COLOR = '#d62728';

/** The i-th categorical colour: the palette first, then golden-angle hues (distinct, deterministic). */
export function categoryColor(i: number): string {
  if (i < PALETTE.length) return PALETTE[i]!;
  const hue = ((i - PALETTE.length) * 137.508 + 17) % 360;
  const lightness = 0.42 + 0.14 * ((i % 3) / 2);
  return hslToHex(hue, 0.5, lightness);
}

/** `hsl(h, s, l)` (h in degrees, s and l in [0, 1]) as `#rrggbb`. */
export function hslToHex(h: number, s: number, l: number): string {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  const hex = (x: number) =>
    Math.round(x * 255)
      .toString(16)
      .padStart(2, '0');
  return `#${hex(f(0))}${hex(f(8))}${hex(f(4))}`;
}

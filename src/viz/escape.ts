/**
 * Text safety for SVG, XML and HTML: every string that comes from a graph, a plan or a history
 * goes through `escapeXml` before it is written, so a task called `<script>alert(1)</script>`
 * shows as text and never runs.
 */

/**
 * Characters XML 1.0 forbids (C0 controls but tab, newline and return; U+FFFE, U+FFFF; lone
 * surrogates), and DEL and the C1 controls, which it discourages and HTML counts as errors.
 */
const INVALID_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces characters that XML 1.0 cannot hold with U+FFFD (the text stays readable, the document stays well-formed). */
export function xmlSafe(text: string): string {
  return text.replace(INVALID_XML, '\uFFFD');
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for XML / HTML element content and attribute values alike (`& < > " '`). */
export function escapeXml(value: unknown): string {
  return xmlSafe(String(value)).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Escapes for an attribute value and keeps line breaks and tabs as characters (attribute normalisation would turn them into spaces). */
export function escapeAttr(value: unknown): string {
  return escapeXml(value).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/** A coordinate or size for SVG: at most `digits` decimals, no trailing zeros, never `-0`, `NaN` or `Infinity`. */
export function num(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '0';
  const s = value.toFixed(digits);
  const trimmed = s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  return trimmed === '-0' ? '0' : trimmed;
}

/** A count with thousands separators (`12,345`). */
export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Shortens text to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/**
 * Estimated width in pixels of `text` in a sans-serif font of `fontSize` px, for label placement
 * and box sizes (no font metrics in Node; errs on the wide side).
 */
export function textWidth(text: string, fontSize: number): number {
  let units = 0;
  for (const ch of text) {
    if ("iljtf.,:;|!'` ".includes(ch)) units += 0.34;
    else if ('mwMW@%'.includes(ch)) units += 0.9;
    else if (ch >= 'A' && ch <= 'Z') units += 0.7;
    else if (ch.codePointAt(0)! > 0x2e80) units += 1;
    else units += 0.62;
  }
  return units * fontSize;
}

const CSS_COLOR =
  /^(#[0-9a-f]{3,4}|#[0-9a-f]{6}|#[0-9a-f]{8}|(rgb|rgba|hsl|hsla)\(\s*[-+0-9.%\s,/deg]+\)|[a-z]{3,20})$/i;

/**
 * A colour given on a graph (`color` attribute) if it is a plain CSS colour (hex, rgb(), hsl()
 * or a name), else undefined: anything else (`url(...)`, expressions) could load a resource.
 */
export function safeColor(value: unknown): string | undefined {
  return typeof value === 'string' && CSS_COLOR.test(value.trim()) ? value.trim() : undefined;
}

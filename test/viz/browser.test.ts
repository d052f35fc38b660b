/**
 * The report in a real browser: Debian's chromium, driven by playwright-core. `.ci/run` installs
 * chromium when it is missing; elsewhere the test is skipped with a message saying how to run it.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { loadGraph, plan, TaskGraph } from '../../src/index.js';
import { renderGraphSvg, renderReport } from '../../src/viz/index.js';
import { randomGraph } from '../fixtures.js';
import { scaled } from '../timeouts.js';
import { HOSTILE, hostileGraph } from './helpers.js';
import { fakeAffinity, fakeHistory } from './report-fixture.js';

const CHROMIUM = process.env.MTGRAPH_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(
    `test/viz/browser.test.ts skipped: no chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` (.ci/run does), or set MTGRAPH_CHROMIUM to a Chromium binary.`,
  );
}

/** Chromium flags for a closed network: no background requests, no first-run work, a fresh profile (playwright makes one). */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(!available)('renderReport in headless chromium', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ARGS,
      timeout: scaled(30_000),
    });
    dir = mkdtempSync(path.join(tmpdir(), 'mtgraph-report-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(html: string, name: string) {
    const file = path.join(dir, name);
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning')
        problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return { page, problems, requests, url: pathToFileURL(file).href };
  }

  /** Share of pixels that differ from the most common colour (the background), and the number of distinct colours. */
  async function ink(
    png: Buffer,
  ): Promise<{ width: number; height: number; share: number; colours: number }> {
    const blank = await browser.newPage();
    try {
      return await blank.evaluate(async (b64: string) => {
        const w = globalThis as unknown as {
          Image: new () => { src: string; width: number; height: number; decode(): Promise<void> };
          document: { createElement(tag: string): any };
        };
        const img = new w.Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const canvas = w.document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const data: Uint8ClampedArray = ctx.getImageData(0, 0, img.width, img.height).data;
        const counts = new Map<number, number>();
        for (let i = 0; i < data.length; i += 4) {
          const key = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        const total = data.length / 4;
        const background = Math.max(...counts.values());
        return {
          width: img.width,
          height: img.height,
          share: (total - background) / total,
          colours: counts.size,
        };
      }, png.toString('base64'));
    } finally {
      await blank.close();
    }
  }

  it('renderReport opens with no console errors, no requests, hostile names as text, and a picture that is not blank', async () => {
    const g = hostileGraph();
    const tasks = g.nodes();
    const html = await renderReport({
      graph: g,
      plan: plan(g, { strategy: 'soft', trunk: { units: [8] } }),
      history: fakeHistory(tasks),
      affinity: fakeAffinity(tasks),
    });
    const { page, problems, requests, url } = await open(html, 'report.html');
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);
    const text = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { body: { innerText: string } } }).document.body
          .innerText,
    );
    for (const h of HOSTILE) expect(text).toContain(h);
    const scripts = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { scripts: { length: number } } }).document.scripts
          .length,
    );
    expect(scripts).toBe(0);
    const svgCount = await page.locator('svg').count();
    expect(svgCount).toBe(6);
    const png = await page.screenshot({ fullPage: false });
    const seen = await ink(png);
    expect(seen.width).toBe(1280);
    expect(seen.share).toBeGreaterThan(0.05);
    expect(seen.colours).toBeGreaterThan(50);
    // The SVGs have real size on the page (not collapsed).
    const box = await page.locator('#graph svg').boundingBox();
    expect(box!.width).toBeGreaterThan(400);
    expect(box!.height).toBeGreaterThan(300);
    await page.close();
  });

  it('the browser checks catch a script, a request and a blank page (control)', async () => {
    const bad =
      '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script>alert(1); console.error("ran")</script><img src="http://127.0.0.1:9/x.png"></body></html>';
    const { page, problems, requests } = await open(bad, 'bad.html');
    expect(problems.some((p) => p.startsWith('dialog'))).toBe(true);
    expect(requests.some((r) => r.startsWith('http://'))).toBe(true);
    expect((await ink(await page.screenshot())).share).toBeLessThan(0.01);
    await page.close();
  });

  it('renderReport draws each per-task x axis right under a chart cell, none under an empty cell', async () => {
    // 6 tasks in 4 columns: the second row has 2 empty cells.
    const ids = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
    const g = new TaskGraph({ input: 4 });
    for (const t of ids) g.addTask(t, { kind: 'regression' });
    const html = await renderReport({ graph: g, history: fakeHistory(ids, 10) });
    const { page, problems } = await open(html, 'facets.html');
    expect(problems).toEqual([]);
    const seen = await page.evaluate(() => {
      const d = (globalThis as unknown as { document: any }).document;
      const svg = d.querySelectorAll('#training figure svg')[1];
      type Rect = {
        left: number;
        right: number;
        top: number;
        bottom: number;
        width: number;
        height: number;
      };
      const rects = (sel: string): Rect[] =>
        [...svg.querySelectorAll(sel)].map((e: any) => e.getBoundingClientRect());
      // A cell's view background (nested groups repeat it, a pixel apart): one per position.
      const cells: Rect[] = [];
      for (const b of rects('path.background'))
        if (
          b.width > 50 &&
          b.height > 50 &&
          !cells.some((c) => Math.abs(c.left - b.left) < 4 && Math.abs(c.top - b.top) < 4)
        )
          cells.push(b);
      const axes = rects('g.role-axis[aria-label^="X-axis"]');
      const floating = axes.filter(
        (a) =>
          !cells.some(
            (c) =>
              Math.abs(a.top - c.bottom) <= 3 && a.left >= c.left - 8 && a.right <= c.right + 8,
          ),
      ).length;
      return { cells: cells.length, axes: axes.length, floating };
    });
    expect(seen).toEqual({ cells: 6, axes: 6, floating: 0 });
    await page.close();
  });

  it('renderGraphSvg edges cross no unrelated node and no label, with the text boxes of the browser', async () => {
    const cases: Array<[string, TaskGraph, number]> = [
      ['hostile', hostileGraph(), 0],
      ['random 20/30', randomGraph(20, 30, 2), 0],
      ['random 20/30', randomGraph(20, 30, 2), 1],
      ['random 30/45', randomGraph(30, 45, 3), 2],
    ];
    for (const file of ['census-income', 'recommender', 'sarcos', 'keras-two-task'])
      cases.push([file, await loadGraph(`graphs/${file}.json`), 0]);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    for (const [name, g, seed] of cases) {
      await page.setContent(
        `<!DOCTYPE html><body style="margin:0">${renderGraphSvg(g, { seed })}</body>`,
      );
      const seen = await page.evaluate(() => {
        const d = (globalThis as unknown as { document: any }).document;
        const root = d.querySelector('svg g.drawing');
        const nodes = [...root.querySelectorAll('g.nodes circle')].map((c: any) => ({
          x: c.cx.baseVal.value,
          y: c.cy.baseVal.value,
          r: c.r.baseVal.value,
        }));
        const labels = [...root.querySelectorAll('g.labels text')].map((t: any) => t.getBBox());
        let nodeHits = 0;
        let labelHits = 0;
        for (const e of root.querySelectorAll('g.edges > *')) {
          const length = e.getTotalLength();
          const steps = Math.max(2, Math.ceil(length * 2));
          const points = Array.from({ length: steps + 1 }, (_, k) =>
            e.getPointAtLength((length * k) / steps),
          );
          const [a, b] = [points[0], points[steps]];
          for (const n of nodes) {
            if (Math.hypot(n.x - a.x, n.y - a.y) < 0.2 || Math.hypot(n.x - b.x, n.y - b.y) < 0.2)
              continue;
            if (points.some((p: any) => Math.hypot(p.x - n.x, p.y - n.y) < n.r)) nodeHits++;
          }
          for (const l of labels)
            if (
              points.some(
                (p: any) => p.x > l.x && p.x < l.x + l.width && p.y > l.y && p.y < l.y + l.height,
              )
            )
              labelHits++;
        }
        return { nodeHits, labelHits };
      });
      expect({ name, seed, ...seen }).toEqual({ name, seed, nodeHits: 0, labelHits: 0 });
    }
    await page.close();
  });

  it('renderReport for the 139-task School graph renders in the browser without errors', async () => {
    const school = await loadGraph('graphs/school.json');
    const html = await renderReport({
      graph: school,
      plan: plan(school, { strategy: 'clustered' }),
      history: fakeHistory(school.nodes(), 30),
    });
    const { page, problems, requests, url } = await open(html, 'school.html');
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);
    const seen = await ink(await page.screenshot({ fullPage: false }));
    expect(seen.share).toBeGreaterThan(0.05);
    await page.close();
  });
});

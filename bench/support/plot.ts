// A small SVG line chart for benchmark sweeps (how time or memory grows with size), written by the
// benchmarks themselves so docs/performance.md's figures can be regenerated with one command.

/** One line of a chart. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** What to draw. Axes are logarithmic when `log` says so (sizes grow 10× per step). */
export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly log?: { readonly x?: boolean; readonly y?: boolean };
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Renders `chart` as a standalone SVG document (no scripts, no external resources). */
export function lineChartSvg(chart: Chart, width = 640, height = 400): string {
  const margin = { left: 70, right: 170, top: 40, bottom: 50 };
  const all = chart.series.flatMap((s) => s.points);
  const fx = (v: number) => (chart.log?.x ? Math.log10(v) : v);
  const fy = (v: number) => (chart.log?.y ? Math.log10(v) : v);
  const xs = all.map(([x]) => fx(x));
  const ys = all.map(([, y]) => fy(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [chart.log?.y ? Math.min(...ys) : 0, Math.max(...ys)];
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const px = (x: number) => margin.left + ((fx(x) - x0) / (x1 - x0 || 1)) * plotW;
  const py = (y: number) => margin.top + plotH - ((fy(y) - y0) / (y1 - y0 || 1)) * plotH;
  const label = (v: number) =>
    v >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3)));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="14" font-weight="bold">${escape(chart.title)}</text>`,
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escape(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`,
  ];
  for (const x of [...new Set(all.map(([x]) => x))].sort((a, b) => a - b))
    out.push(`<text x="${px(x)}" y="${margin.top + plotH + 16}" text-anchor="middle">${label(x)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    const value = chart.log?.y ? 10 ** v : v;
    const y = margin.top + plotH - (plotH * i) / 4;
    out.push(
      `<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#eee"/>`,
      `<text x="${margin.left - 6}" y="${y + 4}" text-anchor="end">${label(value)}</text>`,
    );
  }
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      ...points.map(
        ([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`,
      ),
      `<rect x="${width - margin.right + 14}" y="${margin.top + i * 20}" width="12" height="3" fill="${color}"/>`,
      `<text x="${width - margin.right + 32}" y="${margin.top + i * 20 + 5}">${escape(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

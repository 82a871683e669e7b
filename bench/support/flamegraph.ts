// Flame graphs for docs/performance.md, made by the project from V8 CPU profiles
// (`node --cpu-prof`), so a profile can be redrawn with one command and no external tool.
// Usage: node dist/bench/support/flamegraph.js <in.cpuprofile> <out.svg> [--title=TEXT] [--min=0.002]
//        [--focus=NAME]   (root the graph at the frames whose name contains NAME, e.g. runBatchInference)
import fs from 'node:fs';
import path from 'node:path';

/** One node of a V8 `.cpuprofile` call tree (the fields this tool reads). */
export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

/** The V8 `.cpuprofile` document written by `node --cpu-prof`. */
export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
}

/** A frame of the merged call tree: samples in it and below it. */
export interface Frame {
  readonly name: string;
  readonly kind: 'ours' | 'dependency' | 'node' | 'native';
  total: number;
  self: number;
  readonly children: Map<string, Frame>;
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const fn = functionName || '(anonymous)';
  if (!url) return fn;
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  const short = nm >= 0 ? file.slice(nm + 'node_modules/'.length) : path.basename(file);
  return `${fn} ${short}:${lineNumber + 1}`;
}

function kindOf(node: CpuProfileNode): Frame['kind'] {
  const url = node.callFrame.url;
  if (!url) return 'native';
  if (url.includes('node_modules/')) return 'dependency';
  if (url.startsWith('node:')) return 'node';
  return 'ours';
}

/**
 * Merges a profile's call tree by frame name along each stack (same function reached by the same
 * path is one frame), so the graph's widths are sample shares. `(idle)` samples are dropped: they
 * are time the process waited, not work.
 */
export function mergeProfile(profile: CpuProfile): Frame {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const root: Frame = { name: 'all', kind: 'native', total: 0, self: 0, children: new Map() };
  const rootNode = profile.nodes[0];
  if (!rootNode) return root;
  const visit = (node: CpuProfileNode, into: Frame): number => {
    let sum = node.hitCount ?? 0;
    into.self += node.hitCount ?? 0;
    for (const childId of node.children ?? []) {
      const child = byId.get(childId);
      if (!child || child.callFrame.functionName === '(idle)') continue;
      const name = frameName(child);
      let frame = into.children.get(name);
      if (!frame) {
        frame = { name, kind: kindOf(child), total: 0, self: 0, children: new Map() };
        into.children.set(name, frame);
      }
      const below = visit(child, frame);
      frame.total += below;
      sum += below;
    }
    return sum;
  };
  root.total = visit(rootNode, root) - (rootNode.hitCount ?? 0);
  root.self = 0;
  return root;
}

const COLORS: Record<Frame['kind'], [number, number]> = {
  ours: [20, 45], // warm: the project's own code
  dependency: [200, 230], // blue: node_modules (DuckDB, pg, onnxruntime bindings, Temporal SDK)
  node: [100, 130], // green: Node's own library
  native: [0, 15], // red: native, GC and program time
};
const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function colorOf(frame: Frame): string {
  const [lo, hi] = COLORS[frame.kind];
  let hash = 0;
  for (let i = 0; i < frame.name.length; i++) hash = (hash * 31 + frame.name.charCodeAt(i)) >>> 0;
  const hue = lo + (hash % (hi - lo + 1));
  return `hsl(${hue},70%,${60 + (hash % 15)}%)`;
}

/**
 * Renders `root` as a standalone SVG flame graph (root at the bottom, callees above, widths by
 * samples, each frame with a hover title giving its share). Frames narrower than `minShare` of the
 * total are left out so the file stays small.
 */
export function flameGraphSvg(root: Frame, title: string, width = 1200, minShare = 0.002): string {
  const rowH = 16;
  let depth = 0;
  const measure = (f: Frame, d: number): void => {
    depth = Math.max(depth, d);
    for (const c of f.children.values()) if (c.total / root.total >= minShare) measure(c, d + 1);
  };
  measure(root, 0);
  const top = 40;
  const height = top + (depth + 1) * rowH + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-family="sans-serif" font-size="14">${escape(title)}</text>`,
    `<text x="10" y="${height - 10}" font-family="sans-serif" font-size="11" fill="#555">${escape(
      `${root.total} samples · warm: project code · blue: dependencies · green: Node · red: native/GC · hover a frame for its share`,
    )}</text>`,
  ];
  const scale = (width - 20) / Math.max(1, root.total);
  const draw = (f: Frame, x: number, d: number): void => {
    const w = f.total * scale;
    const y = height - 40 - d * rowH;
    const share = ((100 * f.total) / Math.max(1, root.total)).toFixed(1);
    const selfShare = ((100 * f.self) / Math.max(1, root.total)).toFixed(1);
    out.push(
      `<g><title>${escape(`${f.name} — ${share}% (self ${selfShare}%)`)}</title>` +
        `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0.5, w - 0.5).toFixed(1)}" height="${rowH - 1}" fill="${d === 0 ? '#ccc' : colorOf(f)}"/>` +
        (w > 40
          ? `<text x="${(x + 3).toFixed(1)}" y="${y + 12}" clip-path="none">${escape(f.name.slice(0, Math.floor((w - 6) / 6.6)))}</text>`
          : '') +
        `</g>`,
    );
    let cx = x;
    const children = [...f.children.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const c of children) {
      if (c.total / root.total >= minShare) draw(c, cx, d + 1);
      cx += c.total * scale;
    }
  };
  draw(root, 10, 0);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * Re-roots the graph at every frame whose name contains `needle` (merged into one root, outermost
 * matches only), so a benchmark's measured phase can be drawn without its setup.
 */
export function focusFrames(root: Frame, needle: string): Frame {
  const focus: Frame = { name: needle, kind: 'ours', total: 0, self: 0, children: new Map() };
  const mergeInto = (into: Frame, from: Frame): void => {
    into.self += from.self;
    for (const c of from.children.values()) {
      let target = into.children.get(c.name);
      if (!target) {
        target = { name: c.name, kind: c.kind, total: 0, self: 0, children: new Map() };
        into.children.set(c.name, target);
      }
      target.total += c.total;
      mergeInto(target, c);
    }
  };
  const walk = (f: Frame): void => {
    for (const c of f.children.values()) {
      if (c.name.includes(needle)) {
        focus.total += c.total;
        mergeInto(focus, c);
      } else walk(c);
    }
  };
  walk(root);
  return focus;
}

/** The frames with the most self samples, for a text summary beside the graph. */
export function topSelf(root: Frame, n: number): { name: string; share: number }[] {
  const self = new Map<string, number>();
  const walk = (f: Frame): void => {
    if (f.self > 0) self.set(f.name, (self.get(f.name) ?? 0) + f.self);
    for (const c of f.children.values()) walk(c);
  };
  walk(root);
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, count]) => ({ name, share: count / Math.max(1, root.total) }));
}

function main(): void {
  const args = process.argv.slice(2);
  const positional = args.filter((a) => !a.startsWith('--'));
  const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const [input, output] = positional;
  if (!input || !output) {
    process.stderr.write(
      'usage: node dist/bench/support/flamegraph.js <in.cpuprofile> <out.svg> [--title=TEXT] [--min=0.002] [--focus=NAME]\n',
    );
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(input, 'utf8')) as CpuProfile;
  const focus = option('focus');
  const root = focus ? focusFrames(mergeProfile(profile), focus) : mergeProfile(profile);
  const minShare = Number(option('min') ?? 0.002);
  fs.writeFileSync(output, flameGraphSvg(root, option('title') ?? path.basename(input), 1200, minShare));
  process.stdout.write(
    `${output}: ${root.total} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s; top self time:\n` +
      topSelf(root, 12)
        .map((t) => `  ${(100 * t.share).toFixed(1).padStart(5)}%  ${t.name}`)
        .join('\n') +
      '\n',
  );
}

if (require.main === module) main();

// Several charts in one SVG file, one under the other: a sweep's time and its peak memory have
// different units, and lineChartSvg draws one y axis (and four colours) per chart.

/**
 * Stacks standalone SVG documents (as lineChartSvg writes them) vertically into one document, each
 * at its own size; the result is a standalone SVG again (nested <svg> elements, nothing external).
 */
export function stackSvgs(documents: readonly string[]): string {
  let y = 0;
  let width = 0;
  const parts = documents.map((doc) => {
    const size = /<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"/.exec(doc);
    if (!size) throw new Error('stackSvgs: a document without width and height on its <svg> element');
    const part = doc.trimEnd().replace('<svg ', `<svg y="${y}" `);
    width = Math.max(width, Number(size[1]));
    y += Number(size[2]);
    return part;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}">`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

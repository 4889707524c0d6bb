/**
 * Vega-Lite spec → SVG string, in Node and in the browser alike: the spec is
 * compiled to Vega and run in a headless `View` (`renderer: 'none'`), whose
 * `toSVG()` needs neither a DOM nor a canvas. Text widths are then estimated
 * (Vega's fallback without canvas), which is fine for labels and titles.
 *
 * Nothing is fetched: the loader refuses every URL, so specs must carry their
 * data inline (`data: { values }`), as the builders in charts.ts do. Errors
 * that Vega only logs (a refused load, a bad expression) reject the promise
 * instead of yielding an empty chart; warnings go to console.warn.
 */
import { View, Warn, logger, parse } from 'vega';
import type { Loader } from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

export interface RenderOptions {
  /** Factor on the SVG's width and height (default 1). */
  scale?: number;
}

/** A loader that loads nothing (no network or file access while rendering) and notes what was asked for. */
function offlineLoader(refused: string[]): Loader {
  const refuse = (what: string): Promise<never> => {
    refused.push(what);
    return Promise.reject(new Error(`refused to load ${what}`));
  };
  return { load: refuse, sanitize: refuse, http: refuse, file: refuse };
}

/** Renders a Vega-Lite spec to a standalone SVG document (a string starting with `<svg`). */
export async function renderSvg(spec: TopLevelSpec, options: RenderOptions = {}): Promise<string> {
  const vega = compile(spec).spec;
  const errors: string[] = [];
  const refused: string[] = [];
  const log = logger(Warn, 'warn', (method, level, args) => {
    if (method === 'error') errors.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
    else if (refused.length === 0) console.warn(`[vega ${level}]`, ...args); // after a refused load: the error says it all
  });
  const view = new View(parse(vega), { renderer: 'none', loader: offlineLoader(refused), logger: log });
  try {
    await view.runAsync();
    const svg = await view.toSVG(options.scale ?? 1);
    if (refused.length > 0) errors.unshift(`refused to load ${refused.join(', ')} (no network or file access: pass the data inline, data: { values })`);
    if (errors.length > 0) throw new Error(`renderSvg: ${errors.join('; ')}`);
    return svg;
  } finally {
    view.finalize();
  }
}

/** Makes the ids inside one SVG unique on the page (clip paths, gradients) by prefixing them. */
export function prefixIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}${id}"`).replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}${id})`);
}

import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isDataUrl } from './data-url.js';
import { MultilossError } from '../errors.js';
import { readTextChecked } from './files.js';

/** Config files are small; anything bigger is a mistake. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * Reads a YAML or JSON configuration (YAML is a superset of JSON, so one
 * parser serves both) and makes its file paths relative to the config file's
 * directory. Validation is left to `parseConfig`.
 */
export function readConfigFile(path: string): Record<string, unknown> {
  const text = readTextChecked(path, 'config file', MAX_CONFIG_BYTES);
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 100, logLevel: 'error' });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new MultilossError('config', `${path}: not valid YAML/JSON: ${msg}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MultilossError('config', `${path}: expected a mapping of settings at the top level`);
  }
  const config = value as Record<string, unknown>;
  const base = dirname(resolve(path));
  // Paths are relative to the config file; an http(s) URL is kept as it is.
  const rel = (p: unknown) => (typeof p === 'string' && !isAbsolute(p) && !isDataUrl(p) ? resolve(base, p) : p);
  if ('data' in config) config.data = relSource(config.data, rel);
  if ('out' in config) config.out = rel(config.out);
  const v = config.validation;
  if (v && typeof v === 'object' && 'data' in v) (v as Record<string, unknown>).data = relSource((v as Record<string, unknown>).data, rel);
  return config;
}

/** A data source's paths made absolute: a file path, or the paths of an image source ({ images, labels } or { idx: { images, labels } }). */
function relSource(source: unknown, rel: (p: unknown) => unknown): unknown {
  if (!source || typeof source !== 'object' || Array.isArray(source)) return rel(source);
  const paths = (o: Record<string, unknown>): Record<string, unknown> => ({ ...o, ...('images' in o ? { images: rel(o.images) } : {}), ...('labels' in o ? { labels: rel(o.labels) } : {}) });
  const s = paths(source as Record<string, unknown>);
  if (s.idx && typeof s.idx === 'object' && !Array.isArray(s.idx)) s.idx = paths(s.idx as Record<string, unknown>);
  return s;
}

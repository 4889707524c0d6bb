/**
 * Parquet written by an independent writer: DuckDB (@duckdb/node-api, a dev dependency) copies
 * the bundled data (data/penguins.json, data/weather-*.csv) or any query to Parquet at test
 * time, so the files the readers are checked on come from another implementation than theirs.
 */
import { join } from 'node:path';
import { duckdbParquet, sqlString as quote } from '../../bench/duckdb-parquet.js';
import { ROOT } from '../helpers.js';

export { duckdbParquet };
export const WEATHER_2015 = join(ROOT, 'data', 'weather-2015.csv');
export const WEATHER_TRAIN = join(ROOT, 'data', 'weather-2012-2014.csv');

/** data/penguins.json as Parquet (columns in the file's order, types inferred by DuckDB: VARCHAR, DOUBLE, BIGINT). */
export function penguinsParquet(dir: string, options = ''): Promise<string> {
  return duckdbParquet(`SELECT * FROM read_json(${quote(join(ROOT, 'data', 'penguins.json'))})`, join(dir, 'penguins.parquet'), options);
}

/** A weather CSV as Parquet (date becomes a DATE column, the measurements DOUBLE). */
export function weatherParquet(csv: string, out: string, options = ''): Promise<string> {
  return duckdbParquet(`SELECT * FROM read_csv(${quote(csv)})`, out, options);
}

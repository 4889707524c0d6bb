// Parquet written by an independent writer: DuckDB (@duckdb/node-api, a dev dependency) copies
// a query's result to a Parquet file, streaming (the rows never pass through JavaScript). The
// Parquet tests (test/data/duckdb.ts) and the memory benchmark (bench/table-memory.ts) use it.
import { DuckDBInstance } from '@duckdb/node-api';

/** A path as a DuckDB string literal. */
export const sqlString = (path: string): string => `'${path.replaceAll("'", "''")}'`;

/** Writes the result of `select` to `out` as Parquet with DuckDB; `options` go to COPY (e.g. "COMPRESSION zstd, ROW_GROUP_SIZE 100"). */
export async function duckdbParquet(select: string, out: string, options = ''): Promise<string> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    await connection.run(`COPY (${select}) TO ${sqlString(out)} (FORMAT parquet${options ? `, ${options}` : ''})`);
  } finally {
    connection.closeSync();
    db.closeSync();
  }
  return out;
}

/**
 * Writing the training report (src/report/training-report.ts) to a file:
 * checked up front, written atomically.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MultilossError } from '../errors.js';
import { buildTrainingReport, type ReportableModel, type TrainingReportData } from '../report/training-report.js';
import { writeFileAtomic } from './files.js';

/**
 * Checks that a report can be written at `path` — its directory exists and is
 * writable, and the path is not a directory — so that a run can fail before
 * training rather than after. Returns the absolute path.
 */
export function checkReportPath(path: string): string {
  const abs = resolve(path);
  const dir = dirname(abs);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new MultilossError('io', `report ${path}: directory ${dir} does not exist`);
  }
  if (!isDir) throw new MultilossError('io', `report ${path}: ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new MultilossError('io', `report ${path}: directory ${dir} is not writable`);
  }
  let target: ReturnType<typeof statSync> | undefined;
  try {
    target = statSync(abs);
  } catch {
    target = undefined; // not there yet: fine
  }
  if (target?.isDirectory()) throw new MultilossError('io', `report ${path}: is a directory, expected a file name`);
  return abs;
}

/**
 * Builds the training report of a model (joint, or separate models) and
 * writes it to `path` atomically (a temporary file in the same directory,
 * then a rename). Returns the absolute path.
 */
export async function writeTrainingReport(model: ReportableModel, path: string, data?: TrainingReportData): Promise<string> {
  const abs = checkReportPath(path);
  const html = await buildTrainingReport(model, data);
  writeFileAtomic(abs, html);
  return abs;
}

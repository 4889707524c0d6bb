// Runs the multiloss CLI in a child process that reports its peak RSS at exit
// (process.resourceUsage().maxRSS): the memory benchmark and its test share it.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');

export interface MaxRssRun {
  code: number | null;
  stderr: string;
  stdout: string;
  maxRssMb: number;
  seconds: number;
}

/**
 * Writes a wrapper script into `dir` that imports `entry` (default: the CLI) and prints
 * `maxRSS <KiB>` on stderr at exit; returns a runner for it.
 */
export function maxRssRunner(dir: string, entry = join(ROOT, 'src', 'cli', 'main.ts')): (args: string[]) => Promise<MaxRssRun> {
  const wrapper = join(dir, `rss-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(wrapper, `process.on('exit', () => process.stderr.write('maxRSS ' + process.resourceUsage().maxRSS + '\\n'));\nawait import(${JSON.stringify(pathToFileURL(entry).href)});\n`);
  return (args) =>
    new Promise((done) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, ['--import', 'tsx', wrapper, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => {
        const m = /^maxRSS (\d+)$/m.exec(stderr);
        done({ code, stdout, stderr: stderr.replace(/^maxRSS \d+\n?/m, ''), maxRssMb: m ? Number(m[1]) / 1024 : NaN, seconds: (performance.now() - t0) / 1000 });
      });
    });
}

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
 * Writes a wrapper script into `dir` that imports `entry` (default: the CLI's source) and prints
 * `maxRSS <KiB>` on stderr at exit, then runs `body` if given (code that may `await`); returns a
 * runner for it. TypeScript entries run through tsx; JavaScript ones (the built package, what
 * `npx multiloss` runs) in plain Node.
 */
export function maxRssRunner(dir: string, entry = join(ROOT, 'src', 'cli', 'main.ts'), body = ''): (args: string[]) => Promise<MaxRssRun> {
  const wrapper = join(dir, `rss-${Math.random().toString(36).slice(2)}.mjs`);
  const imported = body ? `const entry = await import(${JSON.stringify(pathToFileURL(entry).href)});\n${body}\n` : `await import(${JSON.stringify(pathToFileURL(entry).href)});\n`;
  writeFileSync(wrapper, `process.on('exit', () => process.stderr.write('maxRSS ' + process.resourceUsage().maxRSS + '\\n'));\n${imported}`);
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return (args) =>
    new Promise((done) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [...loader, wrapper, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
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

import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { FunctionEntry } from '../lib/function-bundles';
import { percentile as percentileOf } from '../local/statistics';
import { bundleFunction as bundleInto } from '../scripts/bundling';

/** Bundles a Lambda entry module exactly as the package build does, into a fresh directory. */
export function bundleFunction(entryName: FunctionEntry): { file: string; bytes: number } {
  const file = bundleInto(entryName, mkdtempSync(path.join(tmpdir(), `keyroll-${entryName}-`)));
  return { file, bytes: statSync(file).size };
}

/** Median milliseconds to `require` the bundle, each time in a fresh Node.js process (a cold start's import). */
export function medianRequireMs(file: string, env: Record<string, string>, runs = 10): number {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const times = Array.from({ length: runs }, () => Number(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' })));
  return median(times);
}

/** Per-call durations in microseconds of `count` calls, after `warmup` unmeasured ones. */
export async function timeCalls(call: () => unknown, count: number, warmup = Math.min(count, 2000)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await call();
  const durations = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await call();
    durations[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  return durations;
}

/** The same, for a synchronous call: no await between the timer reads. */
export function timeSyncCalls(call: () => unknown, count: number, warmup = Math.min(count, 2000)): number[] {
  for (let i = 0; i < warmup; i++) call();
  const durations = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    call();
    durations[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  return durations;
}

/** The `p`th percentile (0 to 100). */
export function percentile(values: readonly number[], p: number): number {
  return percentileOf(values, p / 100);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** A figure with its target, for the printed report. */
export function line(label: string, value: string, target?: { readonly text: string; readonly met: boolean }): string {
  const verdict = target === undefined ? '' : `  target ${target.text}: ${target.met ? 'met' : 'MISSED'}`;
  return `  ${label.padEnd(44)} ${value.padStart(14)}${verdict}`;
}

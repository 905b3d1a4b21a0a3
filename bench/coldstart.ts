import { startGateway } from './proc.js';

/**
 * Cold start: the built `computemd serve` with the shipped catalogs, from spawn to the first 200 on
 * /health. Baseline in the same run: `node -e ""` spawn-to-exit, so a slow machine shows as both.
 */
export async function runColdStartBench(runs = 5): Promise<{
  runs: number;
  serve_to_health_ms_median: number;
  serve_to_health_ms_max: number;
  bare_node_start_ms_median: number;
  ratio_vs_bare_node: number;
}> {
  const { spawnSync } = await import('node:child_process');
  const ready: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '']);
    bare.push(performance.now() - t0);
    const g = await startGateway();
    ready.push(g.readyMs);
    await g.stop();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return {
    runs,
    serve_to_health_ms_median: Math.round(med(ready)),
    serve_to_health_ms_max: Math.round(Math.max(...ready)),
    bare_node_start_ms_median: Math.round(med(bare)),
    ratio_vs_bare_node: Number((med(ready) / med(bare)).toFixed(1)),
  };
}

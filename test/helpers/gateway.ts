import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { createGateway, type Gateway } from '../../src/gateway/compose.js';
import { ManualClock } from '../../src/util/clock.js';

/** 2026-11-25T00:00:00Z: a fixed start so the seeded market is the same in every run. */
export const T0 = Date.UTC(2026, 10, 25);

export interface TestGateway {
  gw: Gateway;
  clock: ManualClock;
  dataDir: string;
  config: GatewayConfig;
}

/**
 * A whole gateway in-process on the shipped catalogs, with a hand-moved clock and no background
 * timers, so a test decides when the market refreshes. `edit` adjusts the resolved config.
 */
export async function startTestGateway(edit: (c: GatewayConfig) => void = () => {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'computemd-test-'));
  // Rate limits off: tests send thousands of requests from one address.
  const config = loadConfig(
    { data_dir: dataDir },
    { COMPUTEMD_LOG_LEVEL: 'silent', COMPUTEMD_RATE_LIMIT: 'off' },
    tmpdir(),
  );
  edit(config);
  const clock = new ManualClock(T0);
  const gw = await createGateway(config, { clock, background: false });
  return { gw, clock, dataDir, config };
}

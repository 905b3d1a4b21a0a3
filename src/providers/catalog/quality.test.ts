import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CloudName } from './clouds.js';
import { judgePrices, type PriceVerdict, ReportBuilder, type RowPrices, spotTwinSku } from './quality.js';

describe('judgePrices on real rows', () => {
  const cases: Array<{
    name: string;
    cloud: CloudName;
    row: RowPrices;
    ceiling?: number | null;
    want: Partial<PriceVerdict>;
  }> = [
    {
      // runpod/vms.partial.csv:802 1x_L40S_SECURE CA: SpotPrice 0.86 > Price 0.43 → spot dropped.
      name: 'RunPod L40S spot above on-demand',
      cloud: 'runpod',
      row: { price: 0.43, spot_price: 0.86, accelerator_count: 1 },
      want: {
        on_demand: 0.43,
        spot: null,
        on_demand_flags: ['spot_dropped:above_on_demand'],
        dropped: ['spot_above_on_demand'],
      },
    },
    {
      // aws/vms.csv:1506 p5.48xlarge use1-az1: 55.04 / 55.04 → kept, at its cap.
      name: 'AWS p5.48xlarge spot == on-demand',
      cloud: 'aws',
      row: { price: 55.04, spot_price: 55.04, accelerator_count: 8 },
      want: { on_demand: 55.04, spot: 55.04, spot_flags: ['spot_at_cap'], dropped: [] },
    },
    {
      // azure/vms.csv:425 Standard_ND96isr_H200_v5 eastus2 84.8 / 84.8.
      name: 'Azure H200 spot == on-demand',
      cloud: 'azure',
      row: { price: 84.8, spot_price: 84.8, accelerator_count: 8 },
      want: { spot: 84.8, spot_flags: ['spot_at_cap'] },
    },
    {
      name: 'Vast SpotPrice 0.00 means none',
      cloud: 'vast',
      row: { price: 0.44, spot_price: 0, accelerator_count: 1 },
      want: { on_demand: 0.44, spot: null, dropped: ['spot_zero_means_none'] },
    },
    {
      // mithril/vms.csv: h100-80gb.sxm.8x 8.0 / 8.0 = $1 per H100-hour.
      name: 'Mithril placeholder 8.0 for 8 GPUs',
      cloud: 'mithril',
      row: { price: 8, spot_price: 8, accelerator_count: 8 },
      want: { on_demand: null, spot: null, dropped: ['placeholder_price'] },
    },
    {
      name: 'Mithril placeholder 1.0 for 1 GPU',
      cloud: 'mithril',
      row: { price: 1, spot_price: 1, accelerator_count: 1 },
      want: { dropped: ['placeholder_price'] },
    },
    {
      // verda/vms.csv 2B300.60V: empty Price, SpotPrice 4.893 → spot-only offer, no ceiling.
      name: 'Verda empty Price with SpotPrice',
      cloud: 'verda',
      row: { price: null, spot_price: 4.893, accelerator_count: 2 },
      want: { on_demand: null, spot: 4.893, dropped: [] },
    },
    {
      // A `…__SPOT` type has no Price of its own; its twin's on-demand (1.5) is the ceiling: 2 > 1.5.
      name: 'spot-only type above its twin on-demand',
      cloud: 'primeintellect',
      row: { price: null, spot_price: 2, accelerator_count: 1 },
      ceiling: 1.5,
      want: { on_demand: null, spot: null, on_demand_flags: [], dropped: ['spot_above_on_demand'] },
    },
    {
      name: 'neither price',
      cloud: 'lambda',
      row: { price: null, spot_price: null, accelerator_count: 1 },
      want: { on_demand: null, spot: null, dropped: ['no_price'] },
    },
    {
      name: 'ordinary spot below on-demand (Azure NV6ads_A10_v5 0.658 / 0.121598)',
      cloud: 'azure',
      row: { price: 0.658, spot_price: 0.121598, accelerator_count: 0.167 },
      want: { on_demand: 0.658, spot: 0.121598, on_demand_flags: [], spot_flags: [], dropped: [] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = judgePrices(c.cloud, c.row, c.ceiling ?? null);
      for (const [k, want] of Object.entries(c.want)) assert.deepEqual(v[k as keyof PriceVerdict], want, k);
    });
  }
});

describe('spotTwinSku', () => {
  const cases: Array<[string, string | null]> = [
    ['datacrunch__1xA100_80GB__22__120__SPOT', 'datacrunch__1xA100_80GB__22__120'],
    ['n3-A100x1-spot__CANADA-1', 'n3-A100x1__CANADA-1'],
    ['n3-A100x1-spot', 'n3-A100x1'],
    ['1x_L40S_SECURE', null],
    ['spotlight-1', null],
  ];
  for (const [sku, want] of cases) it(sku, () => assert.equal(spotTwinSku(sku), want));
});

describe('ReportBuilder', () => {
  it('counts, keeps three examples, sorts flags into corrected and flagged', () => {
    const rb = new ReportBuilder('x');
    for (let i = 0; i < 5; i++) rb.drop('no_price', `f:${i}`);
    rb.flags(
      [
        'price_corrected:gcp_cyclenerd',
        'spot_at_cap',
        'price_source:gcp_cyclenerd',
        'gpu_memory_from_profile',
      ],
      'e',
    );
    assert.deepEqual(rb.report.dropped.no_price, { count: 5, examples: ['f:0', 'f:1', 'f:2'] });
    assert.deepEqual(Object.keys(rb.report.corrected).sort(), [
      'gpu_memory_from_profile',
      'price_corrected:gcp_cyclenerd',
    ]);
    assert.deepEqual(Object.keys(rb.report.flagged), ['spot_at_cap']);
  });
});

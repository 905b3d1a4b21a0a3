import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCsvError, parseGpuInfo, parseTable, parseVmsCsv } from './csv.js';

const H = 'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region';

describe('parseVmsCsv: malformed files are error values naming file, line and column', () => {
  const cases: Array<{
    name: string;
    text: string;
    line: number | null;
    column: string | null;
    msg: RegExp;
  }> = [
    {
      name: 'missing required header (Price)',
      text: 'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,SpotPrice,Region\nx,,,1,1,,r\n',
      line: 1,
      column: 'Price',
      msg: /missing required header "Price"/,
    },
    {
      name: 'non-numeric price on the 3rd line',
      text: `${H}\na,,,1,1,,0.5,,r\nb,,,1,1,,abc,,r\n`,
      line: 3,
      column: 'Price',
      msg: /not a non-negative number: "abc"/,
    },
    {
      name: 'negative spot price',
      text: `${H}\na,,,1,1,,0.5,-1,r\n`,
      line: 2,
      column: 'SpotPrice',
      msg: /not a non-negative/,
    },
    {
      name: 'ragged row (one cell short)',
      text: `${H}\na,,,1,1,,0.5,r\n`,
      line: 2,
      column: null,
      msg: /ragged row: 8 cells, header has 9/,
    },
    {
      name: 'unclosed quote',
      text: `${H}\na,,,1,1,"{x,0.5,,r\n`,
      line: 2,
      column: null,
      msg: /Quote Not Closed/,
    },
    { name: 'empty file', text: '', line: 1, column: null, msg: /empty file/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseVmsCsv(c.text, 'x/vms.csv');
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.error.file, 'x/vms.csv');
      assert.equal(r.error.line, c.line);
      assert.equal(r.error.column, c.column);
      assert.match(r.error.message, c.msg);
      assert.match(formatCsvError(r.error), /^x\/vms\.csv/);
    });
  }
});

describe('parseVmsCsv: the quirks of real files', () => {
  it('reads columns by name in any order; float and fractional counts; empty cells null', () => {
    // Real rows: jarvislabs puts Price last; Azure's count is 0.167 and Generation "V1,V2" is quoted.
    const jarvis =
      'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Region,SpotPrice,Price\n' +
      `1x_L4_28V_124G,L4,1,28.0,124,"{'Gpus': [{'Name': 'L4', 'Manufacturer': 'Nvidia', 'Count': 1, 'MemoryInfo': {'SizeInMiB': 24576}}], 'TotalGpuMemoryInMiB': 24576}",IN2,,0.44\n`;
    const r = parseVmsCsv(jarvis, 'jarvislabs/vms.csv');
    assert.ok(r.ok);
    const row = r.value[0]!;
    assert.equal(row.price, 0.44);
    assert.equal(row.spot_price, null);
    assert.equal(row.region, 'IN2');
    assert.equal(row.accelerator_count, 1);

    const azure =
      'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,Generation\n' +
      'Standard_NV6ads_A10_v5,A10,0.167,6,55,A10,0.658,0.121598,australiaeast,"V1,V2"\n';
    const a = parseVmsCsv(azure, 'azure/vms.csv');
    assert.ok(a.ok);
    assert.equal(a.value[0]!.accelerator_count, 0.167);
    assert.deepEqual(a.value[0]!.extra, { Generation: 'V1,V2' });
  });

  it('keeps extra columns (hyperbolic StorageGiB, spheron Provider/SpheronInstanceType) and AvailabilityZone', () => {
    const text =
      'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,StorageGiB,Price,Region,GpuInfo,SpotPrice,AvailabilityZone\n' +
      '1x-H100-75-722,H100,1,75,722,800,1.29,default,,,\n';
    const r = parseVmsCsv(text, 'hyperbolic/vms.csv');
    assert.ok(r.ok);
    assert.deepEqual(r.value[0]!.extra, { StorageGiB: '800' });
    assert.equal(r.value[0]!.zone, null);
    assert.equal(r.value[0]!.accelerator_count, 1);
  });

  it('parseTable reports ragged rows by line even after a multi-line quoted cell', () => {
    // Record 2 spans lines 2–3, so the ragged record is on line 4.
    const r = parseTable('a,b\n"x\ny",1\n1,2,3\n', 't.csv', ['a']);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.line, 4);
  });
});

describe('parseGpuInfo', () => {
  const cases: Array<{ name: string; s: string; want: ReturnType<typeof parseGpuInfo> }> = [
    {
      name: 'Python dict (AWS), with a list and extra keys',
      s: "{'Gpus': [{'Name': 'H100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'LogicalGpuCount': 8, 'Workloads': ['ml-ai'], 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}",
      want: { name: 'H100', count: 8, size_mib: 81920, total_mib: 655360 },
    },
    {
      name: 'Python None (hyperstack) and a string count (cudo)',
      s: "{'Gpus': [{'Name': 'A40', 'Manufacturer': None, 'Count': '1.0', 'MemoryInfo': {'SizeInMiB': 49152}}], 'TotalGpuMemoryInMiB': 49152}",
      want: { name: 'A40', count: 1, size_mib: 49152, total_mib: 49152 },
    },
    {
      name: 'JSON (primeintellect; the CSV layer has already undone "")',
      s: '{"Gpus":[{"Name":"A100-80GB","Count":8,"MemoryInfo":{"SizeInMiB":655360}}],"TotalGpuMemoryInMiB":5242880}',
      want: { name: 'A100-80GB', count: 8, size_mib: 655360, total_mib: 5242880 },
    },
    {
      name: 'Total inside the GPU entry (lium)',
      s: "{'Gpus': [{'Name': 'B200', 'Count': 1.0, 'MemoryInfo': {'SizeInMiB': 183296}, 'TotalGpuMemoryInMiB': 183296}]}",
      want: { name: 'B200', count: 1, size_mib: 183296, total_mib: 183296 },
    },
    { name: 'bare name (IBM, RunPod, Azure)', s: 'V100', want: null },
    { name: 'empty', s: '', want: null },
    { name: 'garbage braces', s: '{not a dict', want: null },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parseGpuInfo(c.s), c.want));
});

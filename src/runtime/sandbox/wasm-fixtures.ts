/**
 * Tiny WASI modules for the tests, assembled by hand (no toolchain): each imports fd_write (func 0)
 * and proc_exit (func 1) from wasi_snapshot_preview1, exports one page of memory and `_start`
 * (func 2), whose body is given as raw instructions. Byte layout: the WebAssembly core spec, §5.
 */

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
/** Signed LEB128, for i32.const immediates. */
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const str = (s: string) => [...uleb(s.length), ...Buffer.from(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
/** Instructions used below. */
export const op = {
  i32: (n: number) => [0x41, ...sleb(n)],
  store: [0x36, 0x02, 0x00],
  call: (f: number) => [0x10, f],
  drop: [0x1a],
  eq: [0x46],
  grow: [0x40, 0x00],
  ifVoid: [0x04, 0x40],
  loopVoid: [0x03, 0x40],
  br: (d: number) => [0x0c, d],
  end: [0x0b],
};

export function wasiModule(
  start: number[],
  data: { offset: number; bytes: Buffer } | null = null,
): Uint8Array {
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])], // fd_write
    [0x60, ...vec([[I32]]), 0x00], // proc_exit
    [0x60, 0x00, 0x00], // _start
  ]);
  const imports = vec([
    [...str('wasi_snapshot_preview1'), ...str('fd_write'), 0x00, 0],
    [...str('wasi_snapshot_preview1'), ...str('proc_exit'), 0x00, 1],
  ]);
  const body = [0x00, ...start, ...op.end]; // no locals
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, types),
    ...section(2, imports),
    ...section(3, vec([[2]])),
    ...section(5, vec([[0x00, 1]])), // memory: min 1 page, no max
    ...section(
      7,
      vec([
        [...str('memory'), 0x02, 0],
        [...str('_start'), 0x00, 2],
      ]),
    ),
    ...section(10, vec([[...uleb(body.length), ...body]])),
    ...(data
      ? section(
          11,
          vec([[0x00, ...op.i32(data.offset), ...op.end, ...uleb(data.bytes.length), ...data.bytes]]),
        )
      : []),
  ];
  return new Uint8Array(bytes);
}

/** Writes `text` to stdout with fd_write (iovec at 0, byte count at 8, text at 16), exits 0. */
export function helloModule(text: string): Uint8Array {
  const t = Buffer.from(text);
  return wasiModule(
    [
      ...[...op.i32(0), ...op.i32(16), ...op.store],
      ...[...op.i32(4), ...op.i32(t.length), ...op.store],
      ...[...op.i32(1), ...op.i32(0), ...op.i32(1), ...op.i32(8), ...op.call(0), ...op.drop],
      ...[...op.i32(0), ...op.call(1)],
    ],
    { offset: 16, bytes: t },
  );
}

/** `loop br 0 end`: never returns. */
export const spinModule = () => wasiModule([...op.loopVoid, ...op.br(0), ...op.end]);

/** memory.grow by `pages`; exits 3 when refused (-1), 0 when granted. */
export function growModule(pages: number): Uint8Array {
  return wasiModule([
    ...[...op.i32(pages), ...op.grow, ...op.i32(-1), ...op.eq],
    ...[...op.ifVoid, ...op.i32(3), ...op.call(1), ...op.end],
    ...[...op.i32(0), ...op.call(1)],
  ]);
}

/**
 * The WASM worker: runs inside the sandbox as /sandbox/wasm-worker.mjs (node loads it as ESM
 * by its name: no package.json is inside), so it imports node: builtins only.
 *
 * fd 5 holds a 4-byte little-endian length, that many bytes of JSON `{ args, env, preopen }`, and
 * then the module. The guest sees `preopen` as /work and nothing else of the file system, its own
 * args and env (the worker process itself has an empty environment, so NODE_OPTIONS in the guest's
 * env cannot reach node), and fds 0-2. The exit status is the guest's; a module that does not
 * compile, instantiate or that traps exits 70 (EX_SOFTWARE) with the reason on stderr.
 */
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const EX_SOFTWARE = 70;

/** The part of the WebAssembly global used here (the project's lib has no DOM types). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<object>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

function fail(what: string, err: unknown): never {
  process.stderr.write(`wasm: ${what}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EX_SOFTWARE);
}

let input: Buffer;
try {
  input = readFileSync(5);
} catch (err) {
  fail('no module on fd 5', err);
}
const headerLength = input.readUInt32LE(0);
const header = JSON.parse(input.subarray(4, 4 + headerLength).toString()) as {
  args: string[];
  env: Record<string, string>;
  preopen: string;
};
const bytes = input.subarray(4 + headerLength);

let mod: object;
try {
  mod = await wasm.compile(bytes);
} catch (err) {
  fail('module does not compile', err);
}
const wasi = new WASI({
  version: 'preview1',
  args: ['module.wasm', ...header.args],
  env: header.env,
  preopens: { '/work': header.preopen },
  returnOnExit: true,
});
let instance: object;
try {
  instance = await wasm.instantiate(mod, wasi.getImportObject());
} catch (err) {
  fail('module does not instantiate (memory over the limit, or imports other than WASI)', err);
}
let code: number;
try {
  code = wasi.start(instance);
} catch (err) {
  fail('trap', err);
}
process.exitCode = code;

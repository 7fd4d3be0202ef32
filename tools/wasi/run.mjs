// WASI preview1 runner for `cargo test --target wasm32-wasip1` under Node >= 20: the test
// binary gets the arguments and environment, the host file system as `/` (absolute paths
// only: the guest's working directory is `/`; preopening `.` as well makes Debian's 2022
// wasi-libc resolve absolute paths against it), and its exit code becomes the process's (a
// trap, e.g. a panic under panic=abort, exits 101).
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [file, ...rest] = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args: [file, ...rest],
  env: process.env,
  preopens: { '/': '/' },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(file));
// Debian bookworm's wasi-libc (2022) lacks the pthread functions Rust's std references for
// `thread::spawn`; they are linked as imports (tools/wasi/undefined.txt) and stubbed here:
// attribute set-up succeeds, `pthread_create` fails with EAGAIN (6), so a spawn returns an
// error (wasm32-wasip1 has no threads) and join/detach are never reached (ENOSYS, 52).
const imports = wasi.getImportObject();
for (const imp of WebAssembly.Module.imports(module)) {
  if (imp.kind !== 'function' || imports[imp.module]?.[imp.name]) continue;
  const code = imp.name.startsWith('pthread_attr_') ? 0 : imp.name === 'pthread_create' ? 6 : 52;
  (imports[imp.module] ??= {})[imp.name] = () => code;
}
const instance = await WebAssembly.instantiate(module, imports);
let code;
try {
  code = wasi.start(instance);
} catch (e) {
  console.error(`wasi-run: trapped (panic=abort): ${e}`);
  code = 101;
}
process.exit(code ?? 0);

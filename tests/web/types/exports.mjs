// node exports.mjs TYPESCRIPT_DIR SOURCE.js TYPES.d.ts: prints {"source": [...], "declared": [...]},
// the export names of a JavaScript module and of its hand-written declarations, read by the
// TypeScript compiler itself (so a re-export or `export { a as b }` counts like any other).
import { createRequire } from "node:module";

const [typescriptDir, source, declarations] = process.argv.slice(2);
const ts = createRequire(`${typescriptDir}/`)("typescript");
const program = ts.createProgram([source, declarations], { allowJs: true, noEmit: true, noResolve: true });
const checker = program.getTypeChecker();
const names = (file) => {
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(file));
  return symbol ? checker.getExportsOfModule(symbol).map((s) => s.getName()).sort() : [];
};
console.log(JSON.stringify({ source: names(source), declared: names(declarations) }));

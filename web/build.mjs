// Build the page into app/static/web/ (committed, so serving it needs no Node), and record a hash of
// the sources there: tests/test_web_build.py fails when the committed build is older than web/.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(fileURLToPath(import.meta.url));
const out = join(web, "..", "app", "static", "web");

/** The files the build reads, sorted: what the recorded hash covers. */
export function sources() {
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]);
  return [...walk(join(web, "src")), join(web, "index.html"), join(web, "build.mjs"), join(web, "package-lock.json")]
    .map((file) => relative(web, file).split("\\").join("/"))
    .sort();
}

function sourcesHash() {
  const hash = createHash("sha256");
  for (const file of sources()) {
    hash.update(file + "\n");
    hash.update(readFileSync(join(web, file)));
    hash.update("\n");
  }
  return hash.digest("hex");
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(web, "src", "app.js"), style: join(web, "src", "style.css") },
  outdir: out,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(join(web, "index.html"), join(out, "index.html"));
writeFileSync(join(out, "SOURCES.sha256"), sourcesHash() + "\n");
console.log(`built ${relative(process.cwd(), out)}`);

// Copies the pinned GraphiQL, React and ReactDOM builds into app/static/graphiql, so that the server
// serves GraphiQL itself (no CDN) and the quick start needs no Node. Run after changing package.json:
//   cd web-tools/graphiql && npm ci && npm run build
// manifest.json records each file's package, version and sha256; tests/test_graphiql.py fails when the
// committed files, the manifest and package-lock.json disagree.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "..", "app", "static", "graphiql");

const ASSETS = [
  { package: "react", file: "umd/react.production.min.js" },
  { package: "react-dom", file: "umd/react-dom.production.min.js" },
  { package: "graphiql", file: "graphiql.min.js" },
  { package: "graphiql", file: "graphiql.min.css" },
];

mkdirSync(target, { recursive: true });
for (const name of readdirSync(target)) rmSync(join(target, name));

const files = {};
for (const asset of ASSETS) {
  const root = join(here, "node_modules", asset.package);
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const name = asset.file.split("/").pop();
  copyFileSync(join(root, asset.file), join(target, name));
  const sha256 = createHash("sha256").update(readFileSync(join(target, name))).digest("hex");
  files[name] = { package: asset.package, version, source: asset.file, sha256 };
}
writeFileSync(join(target, "manifest.json"), JSON.stringify({ files }, null, 2) + "\n");
console.log(`copied ${Object.keys(files).length} files to ${target}`);

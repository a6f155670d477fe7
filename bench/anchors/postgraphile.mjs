// PostGraphile v5 over the benchmark database: the anchor the inbox's threads page is measured against.
// Run by bench.anchors with this package's own Node 22:  node postgraphile.mjs <port>  (DATABASE_URL set).
import { createServer } from "node:http";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { postgraphile } from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const port = Number(process.argv[2] ?? 5678);
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"], poolConfig: { max: 10 } })],
  grafserv: { port, graphiqlOnGraphQLGET: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (error) => { console.error(error); process.exit(1); });
await serv.addTo(server);
server.listen(port, "127.0.0.1", () => console.error(`postgraphile on http://127.0.0.1:${port}/graphql`));
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => { server.close(); await pgl.release(); process.exit(0); });
}

import { openAssistant } from "../../llmops/agent/compose.ts";
import { assistantRoutes } from "../../llmops/agent/routes.ts";
import { PresetChurnRisk } from "../../llmops/agent/testing.ts";
import { sandboxFixture } from "../../llmops/testing/sandbox-fixture.ts";
import { LocalModelRegistry } from "../../mlops/registry/store.ts";
import { buildServer } from "../../mlops/serving/server.ts";
import { FIXTURE_SPECS, fixtureModelBytes, fixtureRows } from "../../mlops/serving/testing/fixture.ts";
import { SqliteOnlineStore } from "../../platform/adapters/local/sqlite-online-store.ts";
import { replaceOnlineStore } from "../../platform/ports/online-store.ts";
import { portalDeps } from "./index.ts";
import { portalRoutes } from "./routes.ts";

const sb = await sandboxFixture();
const registry = new LocalModelRegistry(sb.app.paths.registry);
const card = (auc: number) => ({
  metrics: { auc: { value: auc } },
  features: FIXTURE_SPECS.map((f) => ({ name: f.name })),
});
const v1 = await registry.register({
  name: "churn",
  format: "telco-gbdt",
  artifact: await fixtureModelBytes(7, 20),
  card: card(0.7),
});
await registry.register({
  name: "churn",
  format: "telco-gbdt",
  artifact: await fixtureModelBytes(8, 20),
  card: card(0.78),
});
await registry.setAlias("churn", "champion", v1.version, { action: "auto-first", reason: "fixture" });
const ids = [...new Set(Object.values(sb.scenarios.customers).flat())];
const rows = fixtureRows(ids.length, 11);
const names = FIXTURE_SPECS.map((f) => f.name);
const store = SqliteOnlineStore.open(sb.app.paths.onlineStore);
await replaceOnlineStore(store, { featureNames: names, featureVersion: "fixture", asOf: sb.businessDate }, [
  rows.map((r, i) => ({ customerId: ids[i], values: names.map((n) => r[n] ?? null) })),
]);
await store.close();
const churn = new PresetChurnRisk();
const customer = sb.scenarios.customers.fidelity_active[0];
churn.set(customer, "high");
const assistant = await openAssistant(sb.app, { systems: sb.systems, churn, phraser: null });
const deps = portalDeps(sb.app, { TELCO_PORTAL_KEYS: "admin:portal-admin-key-0123456789" });
const server = await buildServer(sb.app, {
  apiKeys: ["server-admin-key-0123456789"],
  plugins: [
    assistantRoutes(assistant, { sweep: false }),
    portalRoutes({ ...deps, systems: async () => sb.systems }),
  ],
  accessLog: { log: { info() {} }, flush() {}, close() {} } as never,
});
const A = { authorization: "Bearer portal-admin-key-0123456789" };
let r = await server.inject({ url: "/v1/portal/customers/at-risk", headers: A });
console.log("at-risk", r.statusCode, r.body.slice(0, 400));
r = await server.inject({
  url: "/v1/portal/models/churn/promote",
  method: "POST",
  headers: A,
  payload: { version: 2 },
});
console.log("promote", r.statusCode, r.body.slice(0, 400));
const p = await sb.systems.crm.getCustomer(customer);
r = await server.inject({
  url: "/v1/assistant/login",
  method: "POST",
  payload: { cpf: p?.cpf, birth_date: p?.birth_date },
});
const token = r.json().token;
const H = { authorization: `Bearer ${token}` };
let sid: string | undefined;
for (const m of ["quero cancelar meu plano", "tá muito caro", `Aceito a oferta X`]) {
  r = await server.inject({
    url: "/v1/assistant/chat",
    method: "POST",
    headers: H,
    payload: { message: m, session_id: sid, channel: "chat", language: "pt-BR" },
  });
  const b = r.json();
  sid = b.session_id;
  console.log(m, "→", r.statusCode, b.reply, JSON.stringify(b.offers).slice(0, 200));
  const s = await server.inject({ url: `/v1/assistant/sessions/${sid}?turns=0`, headers: H });
  console.log("session", s.statusCode, s.body.slice(0, 300));
}
await server.close();
await assistant.close();
await deps.close();
await sb.cleanup();

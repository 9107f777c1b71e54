import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TelcoError } from "../../errors.ts";
import { BigQueryWarehouse } from "./bigquery-warehouse.ts";
import { GcsLake } from "./gcs-lake.ts";
import { checkGcpAccess, findGcpCredentials } from "./preflight.ts";

// Issue 19, "GCP profile": without credentials or network the gcp profile printed a raw
// `FetchError … EAI_AGAIN` stack after 46 s. Everything here stays on loopback: the "metadata server"
// and the "Google endpoint" are a closed port or a socket that never answers.

const BIN = join(import.meta.dirname, "..", "..", "..", "bin", "telco.ts");

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

let closed: number;
let silent: Server;
let silentPort: number;
const held: Socket[] = [];
let home: string;
/** An environment with no credentials anywhere and no metadata server. */
let noCreds: NodeJS.ProcessEnv;

beforeAll(async () => {
  closed = await closedPort();
  // Accepts connections and never answers (a black-holed proxy).
  silent = createServer((socket) => {
    held.push(socket);
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  silentPort = (silent.address() as { port: number }).port;
  home = mkdtempSync(join(tmpdir(), "telco-gcp-"));
  noCreds = { HOME: home, GCE_METADATA_HOST: `127.0.0.1:${closed}` };
});
afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => silent.close(r));
});

function serviceAccountFile(): string {
  const file = join(home, "sa.json");
  writeFileSync(
    file,
    JSON.stringify({ type: "service_account", client_email: "x@y.iam.gserviceaccount.com" }),
  );
  return file;
}

async function failure(p: Promise<unknown>): Promise<{ err: TelcoError; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (err) {
    return { err: err as TelcoError, ms: Date.now() - t0 };
  }
  throw new Error("expected a failure");
}

describe("gcp up-front check", () => {
  it("finds credentials as the SDKs do: the env file, gcloud's application-default file, else none", async () => {
    expect(await findGcpCredentials(noCreds, 300)).toBeUndefined();
    expect(
      await findGcpCredentials({ ...noCreds, GOOGLE_APPLICATION_CREDENTIALS: serviceAccountFile() }),
    ).toMatch(/^GOOGLE_APPLICATION_CREDENTIALS/);
    const gcloud = join(home, ".config", "gcloud");
    const adcHome = mkdtempSync(join(tmpdir(), "telco-gcp-adc-"));
    mkdirSync(join(adcHome, ".config", "gcloud"), { recursive: true });
    writeFileSync(
      join(adcHome, ".config", "gcloud", "application_default_credentials.json"),
      JSON.stringify({ type: "authorized_user" }),
    );
    expect(await findGcpCredentials({ ...noCreds, HOME: adcHome })).toMatch(/application-default/);
    expect(gcloud).toContain(home);
    const missing = await failure(
      findGcpCredentials({ ...noCreds, GOOGLE_APPLICATION_CREDENTIALS: join(home, "nope.json") }),
    );
    expect(missing.err.message).toContain("nope.json");
  });

  it("says in one message that there are no credentials, fast", async () => {
    const { err, ms } = await failure(
      checkGcpAccess({ endpoint: `http://127.0.0.1:${closed}`, env: noCreds, timeoutMs: 1000 }),
    );
    expect(err).toBeInstanceOf(TelcoError);
    expect(err.code).toBe("gcp_credentials");
    expect(err.message).toBe("the gcp profile found no Google Cloud credentials");
    expect(err.hint).toContain("gcloud auth application-default login");
    expect(ms).toBeLessThan(3000);
  });

  it("says the endpoint is unreachable, with why, within the timeout", async () => {
    const env = { ...noCreds, GOOGLE_APPLICATION_CREDENTIALS: serviceAccountFile() };
    const refused = await failure(
      checkGcpAccess({ endpoint: `http://127.0.0.1:${closed}`, env, timeoutMs: 1000 }),
    );
    expect(refused.err.code).toBe("gcp_unreachable");
    expect(refused.err.message).toBe(
      `Google Cloud is unreachable: http://127.0.0.1:${closed}: connection refused (ECONNREFUSED)`,
    );
    const hung = await failure(
      checkGcpAccess({ endpoint: `http://127.0.0.1:${silentPort}`, env, timeoutMs: 400 }),
    );
    expect(hung.err.message).toContain("no answer within 400 ms");
    expect(hung.ms).toBeLessThan(2500);
  });

  it("runs before the adapters build their SDK clients: the first call fails with the clear error", async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, noCreds, { STORAGE_EMULATOR_HOST: `http://127.0.0.1:${closed}` });
      delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      const lake = new GcsLake({ bucket: "b", project: "p" });
      const lakeErr = await failure(lake.list("raw"));
      expect(lakeErr.err.code).toBe("gcp_unreachable");
      expect(lakeErr.ms).toBeLessThan(5000);
      delete process.env.STORAGE_EMULATOR_HOST;
      const wh = new BigQueryWarehouse({ project: "p", location: "southamerica-east1" });
      const whErr = await failure(wh.query("select 1"));
      expect(whErr.err.code).toBe("gcp_credentials");
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it("the CLI prints one clear error and exits 1: no stack, no FetchError, no wrong lock hint", () => {
    const env = {
      PATH: process.env.PATH,
      ...noCreds,
      TELCO_HOME: join(home, "ws"),
      TELCO_PROFILE: "gcp",
      TELCO_GCP__PROJECT: "demo-project",
      TELCO_GCP__BUCKET: "demo-bucket",
    };
    const t0 = Date.now();
    const run = spawnSync(process.execPath, [BIN, "data", "versions"], {
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain("found no Google Cloud credentials");
    expect(run.stderr).toContain("gcloud auth application-default login");
    for (const bad of ["FetchError", "EAI_AGAIN", "    at ", "another telco process"])
      expect(run.stderr).not.toContain(bad);
    expect(Date.now() - t0).toBeLessThan(30_000);
    // Without a project: the missing keys, not a warehouse lock.
    const noProject = spawnSync(process.execPath, [BIN, "data", "versions"], {
      env: { ...env, TELCO_GCP__PROJECT: "", TELCO_GCP__BUCKET: "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(noProject.status).toBe(1);
    expect(noProject.stderr).toContain("gcp.project");
    expect(noProject.stderr).not.toContain("another telco process");
    expect(noProject.stderr).not.toContain("    at ");
  });
});

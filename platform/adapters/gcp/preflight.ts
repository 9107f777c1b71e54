import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { TelcoError } from "../../errors.ts";

/**
 * The gcp profile's up-front check, run once per process before the first Google Cloud client is
 * built: are there credentials, and does the service's endpoint answer? Without it, a laptop with no
 * credentials or no network printed the SDK's raw `FetchError … EAI_AGAIN` stack after its retries
 * (an ingest failed only after 46 s); now one message says what is missing and how to fix it, within
 * a short timeout. The SDKs' own discovery order is mirrored (google-auth-library: the
 * GOOGLE_APPLICATION_CREDENTIALS file, gcloud's application-default file, the metadata server).
 */

export interface GcpPreflightOptions {
  /** Service endpoint to reach, e.g. https://storage.googleapis.com (an emulator URL needs no credentials). */
  endpoint: string;
  /** The endpoint is a local emulator (STORAGE_EMULATOR_HOST): skip the credentials check. */
  emulator?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Per probe (default 3 s: a healthy endpoint answers in well under a second). */
  timeoutMs?: number;
}

export interface GcpPreflight {
  credentials: string;
  endpoint: string;
}

/** Where Application Default Credentials come from, or undefined when there are none. */
export async function findGcpCredentials(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 3000,
): Promise<string | undefined> {
  const explicit = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (explicit) {
    if (!existsSync(explicit))
      throw new TelcoError(
        "gcp_credentials",
        `GOOGLE_APPLICATION_CREDENTIALS names ${explicit}, which does not exist`,
        {
          hint: "Point it at a service-account key file, or unset it to use `gcloud auth application-default login`.",
        },
      );
    readCredentialFile(explicit);
    return `GOOGLE_APPLICATION_CREDENTIALS (${explicit})`;
  }
  const gcloudDir =
    env.CLOUDSDK_CONFIG ??
    (process.platform === "win32" && env.APPDATA
      ? join(env.APPDATA, "gcloud")
      : join(env.HOME ?? homedir(), ".config", "gcloud"));
  const adc = join(gcloudDir, "application_default_credentials.json");
  if (existsSync(adc)) {
    readCredentialFile(adc);
    return `gcloud application-default credentials (${adc})`;
  }
  // On Cloud Run, GCE and GKE the metadata server holds the service account's credentials.
  const host = env.GCE_METADATA_HOST ?? env.GCE_METADATA_IP ?? "169.254.169.254";
  try {
    const res = await fetch(`http://${host}/computeMetadata/v1/instance/service-accounts/default/email`, {
      headers: { "metadata-flavor": "Google" },
      signal: AbortSignal.timeout(Math.min(timeoutMs, 1500)),
    });
    if (res.ok && res.headers.get("metadata-flavor") === "Google")
      return `the metadata server's service account (${(await res.text()).trim()})`;
  } catch {
    // not on Google Cloud
  }
  return undefined;
}

function readCredentialFile(path: string): void {
  try {
    const json = JSON.parse(readFileSync(path, "utf8")) as { type?: unknown };
    if (typeof json.type !== "string") throw new Error('no "type" field');
  } catch (err) {
    throw new TelcoError("gcp_credentials", `the credentials file ${path} is not readable JSON credentials`, {
      hint: `Fix or replace it (${(err as Error).message}); \`gcloud auth application-default login\` writes a valid one.`,
    });
  }
}

/** Why a request to `url` failed, in words (the code of the error's cause, if any). */
function reachFailure(err: unknown, url: URL, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const code = e.cause?.code ?? (e as { code?: string }).code;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `cannot resolve ${url.hostname} (${code}: no DNS or no network)`;
  if (code === "ECONNREFUSED") return `connection refused (${code})`;
  if (code === "ECONNRESET" || code === "ETIMEDOUT" || code === "EHOSTUNREACH" || code === "ENETUNREACH")
    return `network error (${code})`;
  return code ?? e.cause?.message ?? e.message;
}

/** Checks credentials and the endpoint; resolves with what was found, or throws one clear TelcoError. */
export async function checkGcpAccess(opts: GcpPreflightOptions): Promise<GcpPreflight> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? 3000;
  let credentials = "none needed (emulator)";
  if (!opts.emulator) {
    const found = await findGcpCredentials(env, timeoutMs);
    if (!found)
      throw new TelcoError("gcp_credentials", "the gcp profile found no Google Cloud credentials", {
        hint: "Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file (on Cloud Run the service account is used). Or use the offline profile: TELCO_PROFILE=local.",
      });
    credentials = found;
  }
  const url = new URL(opts.endpoint);
  try {
    // Any HTTP answer (even 404) proves the endpoint is reachable; only the transport matters here.
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
  } catch (err) {
    throw new TelcoError(
      "gcp_unreachable",
      `Google Cloud is unreachable: ${url.origin}: ${reachFailure(err, url, timeoutMs)}`,
      {
        hint: "Check the network (or HTTPS_PROXY), then retry; to work offline use TELCO_PROFILE=local.",
        details: { credentials },
      },
    );
  }
  return { credentials, endpoint: url.origin };
}

const checks = new Map<string, Promise<GcpPreflight>>();

/**
 * checkGcpAccess once per process and endpoint (every adapter of the profile calls it before building
 * its client; the first answer, success or failure, is reused).
 */
export function gcpPreflight(opts: GcpPreflightOptions): Promise<GcpPreflight> {
  const env = opts.env ?? process.env;
  const key = JSON.stringify([
    opts.endpoint,
    opts.emulator ?? false,
    env.GOOGLE_APPLICATION_CREDENTIALS,
    env.CLOUDSDK_CONFIG,
    env.HOME,
    env.GCE_METADATA_HOST,
  ]);
  let check = checks.get(key);
  if (!check) {
    check = checkGcpAccess(opts);
    checks.set(key, check);
  }
  return check;
}

/** The Cloud Storage endpoint the SDK will use (STORAGE_EMULATOR_HOST when set). */
export function storageEndpoint(env: NodeJS.ProcessEnv = process.env): {
  endpoint: string;
  emulator: boolean;
} {
  const emu = env.STORAGE_EMULATOR_HOST;
  if (emu) return { endpoint: /^https?:\/\//.test(emu) ? emu : `http://${emu}`, emulator: true };
  return { endpoint: "https://storage.googleapis.com", emulator: false };
}

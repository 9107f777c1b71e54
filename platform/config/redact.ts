/**
 * Secrets never leave the process in clear: `telco config show`, logs and error details print
 * configuration through this. A value is secret when its key names one (apiKeys, secret, token,
 * password, credentials…); keys that hold the NAME of a variable (…Env) are not secrets.
 */
const SECRET_WHOLE = /^(api[_-]?keys?|secrets?|token|passwords?|passwd|credentials?|private[_-]?key)$/i;
/** camelCase or snake_case endings: clientSecret, verifyToken, app_secret (not maxTokens: a count). */
const SECRET_SUFFIX =
  /(Secret|Password|Token|ApiKeys?|PrivateKey|Credentials?)$|_(secret|password|token|api_key|private_key)$/;

export const REDACTED = "[redacted]";

export function isSecretKey(key: string): boolean {
  return !/Env$/.test(key) && (SECRET_WHOLE.test(key) || SECRET_SUFFIX.test(key));
}

/** A deep copy of `value` with every secret value replaced by "[redacted]" (arrays keep their length). */
export function redactSecrets<T>(value: T): T {
  return redact(value, false) as T;
}

function redact(value: unknown, secret: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v, secret));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, redact(v, secret || isSecretKey(k))]),
    );
  }
  if (secret && value !== null && value !== undefined && value !== "") return REDACTED;
  return value;
}

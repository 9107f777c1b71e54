/**
 * PII masking micro-benchmark (node bench/pii.ts): the access log's maskUrl on the request hot path, and
 * detectPii on customer messages. Anchor: the regex-only masker the access log used before the shared
 * detector (copied below, measured in the same run); `ratio_vs_previous` > 1 means slower than it.
 * Prints one JSON document.
 */
import { detectPii, maskUrl } from "../platform/pii/index.ts";

// The previous access-log masker (mlops/serving/pii.ts before platform/pii), kept here as the anchor.
const OLD_CPF = /\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b/g;
const OLD_PHONE = /(?:\+?55[\s-]?)?\(?\b\d{2}\)?[\s-]?9?\d{4}[\s-]?\d{4}\b/g;
const OLD_NAME =
  /([?&;](?:name|nome|full_?name|nome_?completo|customer_?name|first_?name|last_?name|sobrenome)=)[^&#]*/gi;
const oldMaskPii = (t: string) =>
  t.replace(OLD_CPF, "[masked]").replace(OLD_PHONE, "[masked]").replace(OLD_NAME, "$1[masked]");
function oldMaskUrl(url: string): string {
  let digits = 0;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 61) return oldMaskPii(url);
    if (c >= 48 && c <= 57 && ++digits >= 8) return oldMaskPii(url);
  }
  return url;
}

const MASK = { replacement: "[masked]" };
const SECONDS = Number(process.env.BENCH_PII_SECONDS ?? 0.5);

/** Median ns per call over 5 timed rounds of ~SECONDS/5 each (after a warm-up round). */
function nsPerCall(fn: () => unknown): number {
  let n = 1000;
  const start = performance.now();
  for (let i = 0; i < n; i++) fn();
  const once = (performance.now() - start) / n;
  n = Math.max(1000, Math.round(((SECONDS / 5) * 1000) / Math.max(once, 1e-6)));
  const rounds: number[] = [];
  let sink = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) if (fn()) sink++;
    rounds.push(((performance.now() - t0) * 1e6) / n);
  }
  if (sink < 0) console.error(sink);
  return Math.round(rounds.sort((a, b) => a - b)[2]);
}

const urls: Record<string, string> = {
  plain: "/v1/churn/predict",
  health: "/healthz",
  with_digits: "/v1/customers/AUR-00000001/predictions?window=7d",
  with_name: "/v1/lookup?nome=Maria&uf=SP",
  issue_19: "/v1/lookup?tel=%2B5511987654321&name=Jo%C3%A3o+Silva&doc=abc12345678909def",
};
const messages: Record<string, string> = {
  benign:
    "Oi, minha fatura de novembro veio R$ 30,00 a mais no plano Fibra 500 Mega, protocolo 20261207000123.",
  with_pii:
    "Sou a Ana, CPF 529.982.247-25, cel (21) 99876-5432, email ana@exemplo.com.br, cartão 4111 1111 1111 1111 12/27 123.",
};

const out: Record<string, unknown> = {
  seconds_per_case: SECONDS,
  node: process.version,
  maskUrl: {},
  detectPii: {},
};
for (const [name, url] of Object.entries(urls)) {
  const now = nsPerCall(() => maskUrl(url, MASK));
  const previous = nsPerCall(() => oldMaskUrl(url));
  (out.maskUrl as Record<string, unknown>)[name] = {
    url,
    masked: maskUrl(url, MASK),
    ns_per_call: now,
    previous_ns_per_call: previous,
    ratio_vs_previous: Math.round((now / Math.max(previous, 1)) * 100) / 100,
  };
}
for (const [name, text] of Object.entries(messages)) {
  const ns = nsPerCall(() => detectPii(text));
  (out.detectPii as Record<string, unknown>)[name] = {
    chars: text.length,
    found: detectPii(text).map((m) => m.kind),
    ns_per_call: ns,
    mb_per_s: Math.round((text.length / ns) * 1000 * 100) / 100,
  };
}
console.log(JSON.stringify(out, null, 2));

import { type LanguageModelMiddleware, wrapLanguageModel } from "ai";
import type { GuardrailsConfig } from "../../platform/config/sections/guardrails.ts";
import type { AppContext } from "../../platform/context.ts";
import { detectPii, MASK_STYLES, type PiiKind, piiKindOfKey } from "../../platform/pii/index.ts";
import type { LlmProvider } from "../../platform/ports/llm.ts";

/**
 * PII never reaches a hosted model. Every prompt (system, messages, tool calls and tool results) has
 * its Brazilian personal data replaced by placeholders — `[CPF_1]`, `[PHONE_1]`, `[EMAIL_1]` — before
 * the request leaves, and the placeholders in the answer (text, reasoning, tool-call inputs) are put
 * back inside the process. So the LLM understanding engine still extracts "the customer's CPF" as a
 * slot and the identity tool receives the real digits, while the provider only ever saw `[CPF_1]`.
 * Card numbers, CVVs and expiries are never put back (the reply shows their mask). Built on the AI
 * SDK's language-model middleware, so every caller of the Llm port (understanding, phrasing, the tool
 * loop, judges) is covered by wrapping the provider once (`shieldLlm`).
 */

// The provider-level types, as the middleware sees them (the `ai` package does not re-export them).
type CallOptions = Parameters<NonNullable<LanguageModelMiddleware["transformParams"]>>[0]["params"];
type GenerateResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware["wrapGenerate"]>>>;
type Content = GenerateResult["content"][number];
type StreamResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware["wrapStream"]>>>;
type StreamPart = StreamResult["stream"] extends ReadableStream<infer P> ? P : never;

const RESTORABLE = new Set<PiiKind>(["cpf", "cnpj", "phone", "cep", "email", "imei", "iccid", "name"]);
const PLACEHOLDER = /\[(CPF|CNPJ|PHONE|CEP|CARD|CVV|CARD_EXPIRY|EMAIL|IMEI|ICCID|NAME)_(\d{1,4})\]/g;
/** Fields that are structure, not content. */
const STRUCTURAL = new Set([
  "type",
  "role",
  "toolCallId",
  "toolName",
  "mediaType",
  "providerOptions",
  "id",
  "approvalId",
]);

/** One call's placeholders: the same value always gets the same placeholder. */
export class PiiVault {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, { kind: PiiKind; value: string }>();
  private readonly counts = new Map<PiiKind, number>();

  get size(): number {
    return this.byPlaceholder.size;
  }

  private placeholder(kind: PiiKind, value: string): string {
    const key = `${kind}\u0000${value}`;
    const known = this.byValue.get(key);
    if (known) return known;
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    const p = `[${kind.toUpperCase()}_${n}]`;
    this.byValue.set(key, p);
    this.byPlaceholder.set(p, { kind, value });
    return p;
  }

  /** The text with every detected piece of personal data replaced by its placeholder. */
  mask(text: string): string {
    const found = detectPii(text);
    if (found.length === 0) return text;
    let out = "";
    let at = 0;
    for (const m of found) {
      out += text.slice(at, m.start) + this.placeholder(m.kind, m.value);
      at = m.end;
    }
    return out + text.slice(at);
  }

  /** A JSON-like value masked: strings as text, values under personal keys whole. */
  maskValue(value: unknown, key?: string, depth = 0): unknown {
    if (depth > 16) return value;
    if (typeof value === "string") {
      if (key && STRUCTURAL.has(key)) return value;
      const kind = key ? piiKindOfKey(key) : undefined;
      return kind && value ? this.placeholder(kind, value) : this.mask(value);
    }
    if (typeof value === "number" && key) {
      const kind = piiKindOfKey(key);
      return kind ? this.placeholder(kind, String(value)) : value;
    }
    if (Array.isArray(value)) return value.map((v) => this.maskValue(v, undefined, depth + 1));
    if (value && typeof value === "object" && !(value instanceof Uint8Array) && !(value instanceof URL)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value))
        out[k] = k === "providerOptions" ? v : this.maskValue(v, k, depth + 1);
      return out;
    }
    return value;
  }

  /** Placeholders put back (`json`: inside a JSON string, escaped); cards only as their mask. */
  restore(text: string, json = false): string {
    if (this.byPlaceholder.size === 0 || !text.includes("[")) return text;
    return text.replace(PLACEHOLDER, (p) => {
      const hit = this.byPlaceholder.get(p);
      if (!hit) return p;
      const value = RESTORABLE.has(hit.kind) ? hit.value : MASK_STYLES[hit.kind](hit.value);
      return json ? JSON.stringify(value).slice(1, -1) : value;
    });
  }
}

const vaults = new WeakMap<object, PiiVault>();

function restoreContent(vault: PiiVault, content: Content[]): Content[] {
  return content.map((c) => {
    if (c.type === "text" || c.type === "reasoning") return { ...c, text: vault.restore(c.text) };
    if (c.type === "tool-call") return { ...c, input: vault.restore(c.input, true) };
    return c;
  });
}

/** Holds back a tail that may be the start of a placeholder split across stream chunks. */
function splitSafe(buffer: string): [string, string] {
  const open = buffer.lastIndexOf("[");
  if (open === -1 || buffer.indexOf("]", open) !== -1 || buffer.length - open > 20) return [buffer, ""];
  return [buffer.slice(0, open), buffer.slice(open)];
}

export const piiShieldMiddleware: LanguageModelMiddleware = {
  specificationVersion: "v4",
  async transformParams({ params }) {
    const vault = new PiiVault();
    const prompt = vault.maskValue(params.prompt) as CallOptions["prompt"];
    const next: CallOptions = { ...params, prompt };
    vaults.set(next, vault);
    return next;
  },
  async wrapGenerate({ doGenerate, params }) {
    const vault = vaults.get(params);
    const result = await doGenerate();
    if (!vault || vault.size === 0) return result;
    return { ...result, content: restoreContent(vault, result.content) };
  },
  async wrapStream({ doStream, params }) {
    const vault = vaults.get(params);
    const result = await doStream();
    if (!vault || vault.size === 0) return result;
    const pending = new Map<string, { type: "text-delta" | "reasoning-delta"; text: string }>();
    const flush = (id: string, ctl: TransformStreamDefaultController<StreamPart>) => {
      const p = pending.get(id);
      if (p?.text) ctl.enqueue({ type: p.type, id, delta: vault.restore(p.text) } as StreamPart);
      pending.delete(id);
    };
    const stream = result.stream.pipeThrough(
      new TransformStream<StreamPart, StreamPart>({
        transform(part, ctl) {
          if (part.type === "text-delta" || part.type === "reasoning-delta") {
            const p = pending.get(part.id) ?? { type: part.type, text: "" };
            const [ready, hold] = splitSafe(p.text + part.delta);
            pending.set(part.id, { type: part.type, text: hold });
            if (ready) ctl.enqueue({ ...part, delta: vault.restore(ready) });
            return;
          }
          if (part.type === "text-end" || part.type === "reasoning-end") flush(part.id, ctl);
          else if (part.type === "finish") for (const id of [...pending.keys()]) flush(id, ctl);
          if (part.type === "tool-call") {
            ctl.enqueue({ ...part, input: vault.restore(part.input, true) });
            return;
          }
          ctl.enqueue(part);
        },
        flush(ctl) {
          for (const id of [...pending.keys()]) flush(id, ctl);
        },
      }),
    );
    return { ...result, stream };
  },
};

/** The provider with PII masked in every prompt it sends (and restored in what it answers). */
export function shieldLlm(llm: LlmProvider): LlmProvider {
  if (!llm.model) return llm;
  return {
    provider: llm.provider,
    modelId: llm.modelId,
    model: wrapLanguageModel({ model: llm.model, middleware: piiShieldMiddleware }),
    price: llm.price,
    timeoutMs: llm.timeoutMs,
    maxRetries: llm.maxRetries,
  };
}

/**
 * The app with `llm()` returning the shielded provider (for engines the composition root builds from
 * the app: LLM understanding, phrasing). Off when `guardrails.enabled` or `guardrails.maskLlmPrompts` is.
 */
export function shieldedApp(app: AppContext, config: GuardrailsConfig): AppContext {
  if (!config.enabled || !config.maskLlmPrompts) return app;
  let shielded: Promise<LlmProvider> | undefined;
  const llm = () => {
    shielded ??= app.llm().then(shieldLlm);
    return shielded;
  };
  return new Proxy(app, {
    get(target, prop, receiver) {
      if (prop === "llm") return llm;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

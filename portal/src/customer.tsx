import { useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  api,
  type ChatResponse,
  type Citation,
  chatStream,
  type Offer,
  type ToolCall,
} from "./api.ts";
import type { Lang, Strings } from "./i18n.ts";

interface Login {
  token: string;
  customer_id: string;
  first_name: string;
}

interface Slot {
  slot_id: string;
  date: string;
  window: string;
}

interface Bubble {
  who: "you" | "assistant";
  text: string;
  citations?: Citation[];
  offers?: Offer[];
  slots?: Slot[];
  invoices?: Record<string, unknown>[];
  pix?: { code: string; line?: string }[];
  confirm?: boolean;
}

/** Slots, invoices and Pix codes the turn's tools returned (rendered as cards, not as prose). */
function extras(calls: ToolCall[]): Pick<Bubble, "slots" | "invoices" | "pix"> {
  const out: Pick<Bubble, "slots" | "invoices" | "pix"> = {};
  for (const c of calls) {
    const r = c.result as Record<string, unknown> | null | undefined;
    if (!r || typeof r !== "object") continue;
    if (r.status === "slots_offered" && Array.isArray(r.slots)) out.slots = r.slots as Slot[];
    if (Array.isArray(r.invoices)) out.invoices = r.invoices as Record<string, unknown>[];
    if (typeof r.pix_copia_e_cola === "string") {
      out.pix ??= [];
      out.pix.push({
        code: r.pix_copia_e_cola,
        line: typeof r.linha_digitavel === "string" ? r.linha_digitavel : undefined,
      });
    }
  }
  return out;
}

/** The cited document section: its public address when the source is one, else the knowledge-base page (/kb/{doc}). */
function citationHref(c: Citation): string {
  if (/^https?:\/\//.test(c.source)) return c.source;
  return `/kb/${encodeURIComponent(c.doc_id)}#${encodeURIComponent(c.section)}`;
}

function money(v: unknown, lang: Lang): string {
  return typeof v === "number"
    ? v.toLocaleString(lang, { style: "currency", currency: "BRL" })
    : String(v ?? "—");
}

function offerLabel(o: Offer, lang: Lang): string {
  const t = o.terms ?? {};
  const pt = lang === "pt-BR";
  const months = o.months ?? (t.months as number | undefined);
  if (o.discount_pct)
    return pt
      ? `${o.discount_pct}% de desconto por ${months} meses`
      : `${o.discount_pct}% off for ${months} months`;
  if (t.to_speed_mbps)
    return pt
      ? `Upgrade para ${t.to_speed_mbps} Mega por ${months} meses`
      : `Upgrade to ${t.to_speed_mbps} Mbps for ${months} months`;
  if (t.bonus_gb)
    return pt
      ? `${t.bonus_gb} GB de bônus por ${months} meses`
      : `${t.bonus_gb} GB bonus for ${months} months`;
  return o.offer_id;
}

function CopyButton({ text, s }: { text: string; s: Strings }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="secondary"
      onClick={async () => {
        await navigator.clipboard?.writeText(text).catch(() => {});
        setDone(true);
        setTimeout(() => setDone(false), 2000);
      }}
    >
      {done ? s.copied : s.copy}
    </button>
  );
}

export function CustomerLogin({ s, onLogin }: { s: Strings; onLogin: (l: Login) => void }) {
  const [mode, setMode] = useState<"cpf" | "code">("cpf");
  const [a, setA] = useState("");
  const [b, setB] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="card narrow"
      aria-labelledby="login-title"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          const body = mode === "cpf" ? { cpf: a, birth_date: b } : { customer_id: a, code: b };
          onLogin(
            await api<Login>("/v1/assistant/login", null, { method: "POST", body: JSON.stringify(body) }),
          );
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <h2 id="login-title">{s.loginTitle}</h2>
      <p>{s.loginIntro}</p>
      <label>
        {mode === "cpf" ? s.cpf : s.customerId}
        <input
          name={mode === "cpf" ? "cpf" : "customer_id"}
          required
          value={a}
          onInput={(e) => setA(e.currentTarget.value)}
          autoComplete="off"
        />
      </label>
      <label>
        {mode === "cpf" ? s.birthDate : s.oneTimeCode}
        <input
          name={mode === "cpf" ? "birth_date" : "code"}
          type={mode === "cpf" ? "date" : "text"}
          inputMode={mode === "cpf" ? undefined : "numeric"}
          required
          value={b}
          onInput={(e) => setB(e.currentTarget.value)}
        />
      </label>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="row">
        <button type="submit">{s.signIn}</button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setMode(mode === "cpf" ? "code" : "cpf");
            setA("");
            setB("");
          }}
        >
          {mode === "cpf" ? s.useCode : s.useCpf}
        </button>
      </div>
    </form>
  );
}

export function CustomerChat({
  s,
  lang,
  login,
  onLogout,
}: {
  s: Strings;
  lang: Lang;
  login: Login;
  onLogout: () => void;
}) {
  const [bubbles, setBubbles] = useState<Bubble[]>([]);
  const [session, setSession] = useState<string | undefined>(undefined);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => end.current?.scrollIntoView?.({ block: "end" }), [bubbles]);

  async function send(message: string) {
    if (!message.trim() || busy) return;
    setBusy(true);
    setError(null);
    setText("");
    setBubbles((b) => [
      ...b.map((x) => ({ ...x, confirm: false })),
      { who: "you", text: message },
      { who: "assistant", text: "" },
    ]);
    try {
      const res: ChatResponse = await chatStream(
        login.token,
        { message, session_id: session, language: lang, channel: "chat" },
        (chunk) =>
          setBubbles((b) => b.map((x, i) => (i === b.length - 1 ? { ...x, text: x.text + chunk } : x))),
      );
      setSession(res.session_id);
      // A yes/no question pending in the session: explicit buttons (the click is the customer's answer).
      const state = await api<{ flows: { awaiting: string | null }[] }>(
        `/v1/assistant/sessions/${res.session_id}`,
        login.token,
      ).catch(() => ({ flows: [] }));
      const confirm = state.flows.some((f) => f.awaiting === "confirm");
      setBubbles((b) =>
        b.map((x, i) =>
          i === b.length - 1
            ? {
                who: "assistant",
                text: res.reply,
                citations: res.citations,
                offers: res.offers,
                confirm,
                ...extras(res.tool_calls),
              }
            : x,
        ),
      );
    } catch (err) {
      setError(err instanceof ApiError ? `${s.error}: ${err.message}` : String(err));
      setBubbles((b) => b.slice(0, -1));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="chat" aria-labelledby="chat-title">
      <div class="row spread">
        <h2 id="chat-title">
          {s.chatTitle} — {s.hello(login.first_name)}
        </h2>
        <button type="button" class="secondary" onClick={onLogout}>
          {s.signOut}
        </button>
      </div>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable log must take focus for keyboard scrolling (axe scrollable-region-focusable) */}
      <div class="messages" tabIndex={0} role="log" aria-live="polite" aria-label={s.chatTitle}>
        {bubbles.map((m, i) => (
          <div key={i} class={`bubble ${m.who}`}>
            <span class="who">{m.who === "you" ? s.you : s.assistant}</span>
            <p class="text">{m.text || (busy && i === bubbles.length - 1 ? s.typing : "")}</p>
            {m.citations && m.citations.length > 0 && (
              <nav aria-label={s.sources} class="citations">
                {s.sources}:{" "}
                {m.citations.map((c) => (
                  <a
                    key={`${c.doc_id}-${c.section}`}
                    class="citation"
                    href={citationHref(c)}
                    target="_blank"
                    rel="noreferrer"
                  >
                    {c.title} § {c.section}
                  </a>
                ))}
              </nav>
            )}
            {m.offers?.map((o) => (
              <article key={o.offer_id} class="card offer" aria-label={`${s.offer} ${o.offer_id}`}>
                <h3>
                  {s.offer}: {offerLabel(o, lang)}
                </h3>
                <p class="muted">{o.offer_id}</p>
                <button
                  type="button"
                  disabled={busy || i !== bubbles.length - 1}
                  onClick={() =>
                    send(lang === "pt-BR" ? `Aceito a oferta ${o.offer_id}` : `I accept offer ${o.offer_id}`)
                  }
                >
                  {s.accept}
                </button>
              </article>
            ))}
            {m.slots?.map((slot, n) => (
              <article
                key={slot.slot_id}
                class="card slot"
                aria-label={`${s.slot} ${slot.date} ${slot.window}`}
              >
                <h3>
                  {s.slot}: {slot.date} · {slot.window}
                </h3>
                <button
                  type="button"
                  disabled={busy || i !== bubbles.length - 1}
                  onClick={() => send(String(n + 1))}
                >
                  {s.book}
                </button>
              </article>
            ))}
            {m.invoices && m.invoices.length > 0 && (
              <table class="invoices">
                <caption>{s.invoices}</caption>
                <thead>
                  <tr>
                    <th scope="col">{s.invoice}</th>
                    <th scope="col">{s.due}</th>
                    <th scope="col">{s.amount}</th>
                  </tr>
                </thead>
                <tbody>
                  {m.invoices.map((inv) => (
                    <tr key={String(inv.invoice_id)}>
                      <td>{String(inv.invoice_id ?? inv.reference_month ?? "")}</td>
                      <td>{String(inv.due_date ?? "")}</td>
                      <td>{money(inv.amount_brl ?? inv.total_brl, lang)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {m.pix?.map((p) => (
              <div key={p.code} class="card pix">
                <label>
                  {s.pix}
                  <textarea readOnly rows={3} value={p.code} />
                </label>
                <CopyButton text={p.code} s={s} />
              </div>
            ))}
            {m.confirm && i === bubbles.length - 1 && (
              <fieldset class="row confirm">
                <legend class="sr-only">{s.confirmQ}</legend>
                <button
                  type="button"
                  onClick={() => send(lang === "pt-BR" ? "Sim, confirmo" : "Yes, I confirm")}
                >
                  {s.yes}
                </button>
                <button type="button" class="secondary" onClick={() => send(lang === "pt-BR" ? "Não" : "No")}>
                  {s.no}
                </button>
              </fieldset>
            )}
          </div>
        ))}
        <div ref={end} />
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void send(text);
        }}
      >
        <label class="grow">
          <span class="sr-only">{s.message}</span>
          <input
            name="message"
            value={text}
            placeholder={s.message}
            onInput={(e) => setText(e.currentTarget.value)}
            maxLength={2000}
          />
        </label>
        <button type="submit" disabled={busy}>
          {s.send}
        </button>
      </form>
    </section>
  );
}

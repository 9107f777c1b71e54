import { describe, expect, it } from "vitest";
import type { OutboundMessage } from "../../../platform/ports/messaging.ts";
import { newFrame } from "../../agent/flows/flow.ts";
import { type AssistantState, newAssistantState } from "../../agent/session.ts";
import {
  clip,
  decodeReplyId,
  LIMITS,
  messageForReply,
  type Question,
  questionOf,
  renderReply,
  splitText,
} from "./render.ts";

function state(
  frame?: Partial<ReturnType<typeof newFrame>>,
  opts: { language?: "pt-BR" | "en"; turns?: number } = {},
): AssistantState {
  const s = newAssistantState({
    session_id: "wa_test_1",
    channel: "whatsapp",
    language: opts.language ?? "pt-BR",
    customer_id: "AUR-00000001",
    now: "2026-01-01T00:00:00Z",
  });
  if (frame) s.stack.push({ ...newFrame("cancellation", "choose_offer"), ...frame });
  s.turns = opts.turns ?? 4;
  return s;
}

const OFFERS = [
  {
    offer_id: "RET-DESC10",
    discount_pct: 10,
    months: 6,
    terms: { monthly_price_brl: 99.99, resulting_monthly_price_brl: 89.99 },
  },
  {
    offer_id: "RET-UPGRADE",
    months: 12,
    terms: { kind: "speed_upgrade", from_speed_mbps: 300, to_speed_mbps: 500 },
  },
  { offer_id: "RET-BONUS-GB", months: 6, terms: { kind: "data_bonus", extra_data_gb: 10 } },
];

describe("splitText", () => {
  it("keeps a short reply whole and splits a long one at paragraphs, each part within 4096", () => {
    expect(splitText("Olá!")).toEqual(["Olá!"]);
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Parágrafo ${i}: ${"texto ".repeat(40).trim()}.`);
    const parts = splitText(paragraphs.join("\n\n"));
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(LIMITS.text);
    expect(parts.join("\n\n")).toBe(paragraphs.join("\n\n"));
  });

  it("cuts a run without spaces hard, never inside a surrogate pair", () => {
    const word = `${"a".repeat(9)}😀${"b".repeat(15)}`;
    const parts = splitText(word, 10);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(10);
      expect(p).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
    expect(parts.join("")).toBe(word);
  });

  it("falls back to sentences and words inside a paragraph longer than the limit", () => {
    const long = Array.from({ length: 12 }, (_, i) => `Frase número ${i} do texto.`).join(" ");
    const parts = splitText(long, 60);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(60);
    expect(parts.join(" ")).toBe(long);
  });
});

describe("renderReply", () => {
  const to = "5561973551475";
  const kinds = (ms: OutboundMessage[]) => ms.map((m) => m.kind);

  it("asks a yes/no question with two buttons bound to the turn that asked it", () => {
    const q = questionOf(state({ awaiting: "confirm", step: "confirm_offer" }, { turns: 7 }));
    expect(q).toEqual({ kind: "confirm", turn: 7 });
    const [m] = renderReply({ to, reply: "Confirma?", question: q, language: "pt-BR" });
    expect(m).toEqual({
      kind: "buttons",
      to,
      body: "Confirma?",
      buttons: [
        { id: "cnf:yes:7", title: "Sim" },
        { id: "cnf:no:7", title: "Não" },
      ],
    });
  });

  it("shows up to three offers as buttons titled within 20 characters, ids carrying the offer", () => {
    const s = state({
      awaiting: "choice",
      options: OFFERS.map((o) => o.offer_id),
      facts: { offers: OFFERS },
    });
    const q = questionOf(s) as Question & { kind: "choice" };
    const [m] = renderReply({ to, reply: "Escolha:", question: q, language: "pt-BR" });
    if (m.kind !== "buttons") throw new Error(`expected buttons, got ${m.kind}`);
    expect(m.buttons.map((b) => b.id)).toEqual(["opt:RET-DESC10", "opt:RET-UPGRADE", "opt:RET-BONUS-GB"]);
    expect(m.buttons.map((b) => b.title)).toEqual([
      "1. 10% por 6 meses",
      "2. Upgrade 500 Mega",
      "3. +10GB por 6 meses",
    ]);
    for (const b of m.buttons) expect(Array.from(b.title).length).toBeLessThanOrEqual(LIMITS.buttonTitle);
    const en = questionOf({ ...s, language: "en" }) as Question & { kind: "choice" };
    expect(en.options.map((o) => o.title)).toEqual([
      "1. 10% off, 6 months",
      "2. Upgrade 500 Mbps",
      "3. +10GB, 6 months",
    ]);
  });

  it("shows four to ten technician slots as a list, and more than ten as text only", () => {
    const slots = Array.from({ length: 12 }, (_, i) => ({
      slot_id: `SLOT-${i}`,
      date: `2026-01-${String(5 + i).padStart(2, "0")}`,
      window: i % 2 ? "13:00-18:00" : "08:00-12:00",
    }));
    const five = state({
      awaiting: "choice",
      options: slots.slice(0, 5).map((s) => s.slot_id),
      facts: { slots },
    });
    const [list] = renderReply({ to, reply: "Qual prefere?", question: questionOf(five), language: "pt-BR" });
    if (list.kind !== "list") throw new Error(`expected a list, got ${list.kind}`);
    expect(list.rows).toHaveLength(5);
    expect(list.rows[0]).toEqual({ id: "opt:SLOT-0", title: "1. 05/01 08:00-12:00" });
    expect(list.button).toBe("Ver opções");
    for (const r of list.rows) expect(Array.from(r.title).length).toBeLessThanOrEqual(LIMITS.rowTitle);
    const twelve = state({ awaiting: "choice", options: slots.map((s) => s.slot_id), facts: { slots } });
    expect(
      kinds(renderReply({ to, reply: "Qual prefere?", question: questionOf(twelve), language: "pt-BR" })),
    ).toEqual(["text"]);
  });

  it("keeps list descriptions within 72 characters", () => {
    const many = Array.from({ length: 4 }, (_, i) => ({
      offer_id: `RET-X${i}`,
      discount_pct: 5 * (i + 1),
      months: 6,
      terms: { monthly_price_brl: 1234.5, resulting_monthly_price_brl: 999.99 },
    }));
    const s = state({ awaiting: "choice", options: many.map((o) => o.offer_id), facts: { offers: many } });
    const [list] = renderReply({ to, reply: "Escolha:", question: questionOf(s), language: "pt-BR" });
    if (list.kind !== "list") throw new Error(`expected a list, got ${list.kind}`);
    for (const r of list.rows) expect(Array.from(r.description ?? "").length).toBeLessThanOrEqual(72);
    expect(list.rows[0].description).toBe("de R$ 1234,50 para R$ 999,99 · RET-X0");
  });

  it("puts a reply longer than an interactive body in text, with the buttons after a short prompt", () => {
    const reply = `${"Detalhes da oferta. ".repeat(80).trim()}`;
    expect(reply.length).toBeGreaterThan(LIMITS.interactiveBody);
    const ms = renderReply({ to, reply, question: { kind: "confirm", turn: 2 }, language: "en" });
    expect(kinds(ms)).toEqual(["text", "buttons"]);
    expect(ms[1]).toMatchObject({ body: "Pick an option:", buttons: [{ title: "Yes" }, { title: "No" }] });
    const long = renderReply({ to, reply: "x ".repeat(5000), question: null, language: "en" });
    expect(kinds(long)).toEqual(["text", "text", "text"]);
  });

  it("clips with an ellipsis", () => {
    expect(clip("Upgrade gratuito de velocidade", 20)).toBe("Upgrade gratuito de…");
    expect(Array.from(clip("😀".repeat(30), 20))).toHaveLength(20);
  });
});

describe("button replies back into words", () => {
  it("turns a listed option into its current position, in the session's language", () => {
    const s = state({ awaiting: "choice", options: ["RET-DESC10", "RET-UPGRADE"] });
    const r = decodeReplyId("opt:RET-UPGRADE");
    expect(r).toEqual({ kind: "option", option: "RET-UPGRADE" });
    if (!r) throw new Error("not decoded");
    expect(messageForReply(r, s)).toEqual({ message: "opção 2" });
    expect(messageForReply(r, { ...s, language: "en" })).toEqual({ message: "option 2" });
  });

  it("treats an option no longer listed, or a yes from another question, as stale", () => {
    const choosing = state({ awaiting: "choice", options: ["RET-DESC10"] }, { turns: 5 });
    expect(messageForReply({ kind: "option", option: "RET-UPGRADE" }, choosing)).toEqual({ stale: true });
    expect(messageForReply({ kind: "confirm", yes: true, turn: 5 }, choosing)).toEqual({ stale: true });
    const confirming = state({ awaiting: "confirm", options: ["RET-DESC10"] }, { turns: 6 });
    expect(messageForReply({ kind: "confirm", yes: true, turn: 6 }, confirming)).toEqual({ message: "sim" });
    expect(messageForReply({ kind: "confirm", yes: false, turn: 6 }, confirming)).toEqual({ message: "não" });
    expect(messageForReply({ kind: "confirm", yes: true, turn: 5 }, confirming)).toEqual({ stale: true });
    expect(messageForReply({ kind: "option", option: "RET-DESC10" }, confirming)).toEqual({ stale: true });
    expect(messageForReply({ kind: "confirm", yes: true, turn: 6 }, state(undefined, { turns: 6 }))).toEqual({
      stale: true,
    });
  });

  it("decodes only its own ids", () => {
    expect(decodeReplyId("cnf:no:12")).toEqual({ kind: "confirm", yes: false, turn: 12 });
    expect(decodeReplyId("cnf:maybe:1")).toBeNull();
    expect(decodeReplyId("Continuar atendimento")).toBeNull();
    expect(decodeReplyId("opt:")).toBeNull();
  });
});

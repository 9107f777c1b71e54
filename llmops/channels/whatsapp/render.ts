import type { OutboundMessage } from "../../../platform/ports/messaging.ts";
import type { FlowFrame } from "../../agent/flows/flow.ts";
import type { AssistantState } from "../../agent/session.ts";
import type { Language } from "../../conversation/commands.ts";

/**
 * How one assistant turn becomes WhatsApp messages, and how a tapped button becomes a message the
 * assistant understands again. The assistant decides what is asked (its flow stack); this file only
 * draws it: the options a step listed (offers, technician slots) as reply buttons (≤ 3) or a list
 * (≤ 10 rows), a yes/no question as two buttons, and text split at WhatsApp's 4096 characters.
 */

export const LIMITS = {
  text: 4096,
  interactiveBody: 1024,
  buttons: 3,
  buttonTitle: 20,
  rows: 10,
  rowTitle: 24,
  rowDescription: 72,
  listButton: 20,
} as const;

/** What the top flow is waiting for, in the terms a button can answer. */
export type Question =
  | { kind: "choice"; options: { id: string; title: string; description?: string }[] }
  | { kind: "confirm"; turn: number };

type Offer = {
  offer_id: string;
  discount_pct?: number | null;
  months?: number | null;
  terms?: Record<string, unknown>;
};
type Slot = { slot_id: string; date: string; window: string };

const OPTION = "opt:";
const CONFIRM = "cnf:";

/** Cuts to `max` characters (an ellipsis marks the cut; a surrogate pair is never split). */
export function clip(text: string, max: number): string {
  const chars = Array.from(text.trim());
  if (chars.length <= max) return chars.join("");
  return `${chars
    .slice(0, max - 1)
    .join("")
    .trimEnd()}…`;
}

/**
 * Splits a reply into messages of at most `limit` UTF-16 units (stricter than WhatsApp's character
 * count), at paragraph, then line, then sentence, then word boundaries; a surrogate pair is never cut.
 */
export function splitText(text: string, limit: number = LIMITS.text): string[] {
  const trimmed = text.trim();
  if (trimmed.length <= limit) return trimmed ? [trimmed] : [];
  const out: string[] = [];
  let current = "";
  const push = (piece: string, sep: string) => {
    if (!current) current = piece;
    else if (current.length + sep.length + piece.length <= limit) current += sep + piece;
    else {
      out.push(current);
      current = piece;
    }
  };
  const separators = ["\n\n", "\n", /(?<=[.!?])\s+/, /\s+/] as const;
  const feed = (piece: string, level: number, sep: string) => {
    if (piece.length <= limit) return push(piece, sep);
    if (level >= separators.length) {
      for (const hard of hardCut(piece, limit)) push(hard, "");
      return;
    }
    const splitter = separators[level];
    const parts = piece.split(splitter).filter((p) => p.length > 0);
    const joiner = typeof splitter === "string" ? splitter : " ";
    parts.forEach((p, i) => {
      feed(p, level + 1, i === 0 ? sep : joiner);
    });
  };
  feed(trimmed, 0, "");
  if (current) out.push(current);
  return out.map((s) => s.trim()).filter(Boolean);
}

function hardCut(text: string, limit: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(i + limit, text.length);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1; // keep the pair together
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}

function offerTitle(o: Offer, lang: Language): string {
  const t = o.terms ?? {};
  const months = o.months ?? (t.months as number | undefined);
  const kind = t.kind as string | undefined;
  const pt = lang === "pt-BR";
  if (kind === "speed_upgrade" || o.offer_id === "RET-UPGRADE") {
    const to = t.to_speed_mbps as number | undefined;
    return to ? (pt ? `Upgrade ${to} Mega` : `Upgrade ${to} Mbps`) : pt ? "Mais velocidade" : "Speed upgrade";
  }
  if (kind === "data_bonus" || o.offer_id === "RET-BONUS-GB") {
    const extra = t.extra_data_gb as number | undefined;
    return `+${extra ?? ""}GB${months ? (pt ? ` por ${months} meses` : `, ${months} months`) : ""}`;
  }
  const pct = o.discount_pct ?? (t.discount_pct as number | undefined);
  if (pct !== undefined && pct !== null)
    return `${pct}%${months ? (pt ? ` por ${months} meses` : ` off, ${months} months`) : pt ? " de desconto" : " off"}`;
  return o.offer_id;
}

function offerDescription(o: Offer, lang: Language): string {
  const t = o.terms ?? {};
  const price = t.monthly_price_brl as number | undefined;
  const after = t.resulting_monthly_price_brl as number | undefined;
  const disclose = t.disclose_price_before_approval !== false;
  const parts: string[] = [];
  if (disclose && typeof price === "number" && typeof after === "number")
    parts.push(
      lang === "pt-BR" ? `de R$ ${brl(price)} para R$ ${brl(after)}` : `R$ ${brl(price)} → R$ ${brl(after)}`,
    );
  parts.push(o.offer_id);
  return parts.join(" · ");
}

function brl(n: number): string {
  return n.toFixed(2).replace(".", ",");
}

const EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function slotTitle(s: Slot, lang: Language): string {
  const [, m, d] = s.date.slice(0, 10).split("-");
  const day = lang === "en" ? `${EN_MONTHS[Number(m) - 1] ?? m} ${Number(d)}` : `${d}/${m}`;
  return `${day} ${s.window}`;
}

/** Titles (and list descriptions) of the options a frame listed, from the facts the flow kept. */
function optionLabels(frame: FlowFrame, offers: Offer[], lang: Language): Question & { kind: "choice" } {
  const factOffers = Array.isArray(frame.facts.offers) ? (frame.facts.offers as Offer[]) : [];
  const factSlots = Array.isArray(frame.facts.slots) ? (frame.facts.slots as Slot[]) : [];
  const options = frame.options.map((id, i) => {
    const offer = offers.find((o) => o.offer_id === id) ?? factOffers.find((o) => o.offer_id === id);
    const slot = factSlots.find((s) => s.slot_id === id);
    const label = offer
      ? offerTitle(offer, lang)
      : slot
        ? slotTitle(slot, lang)
        : `${lang === "en" ? "Option" : "Opção"} ${i + 1}`;
    const description = offer ? offerDescription(offer, lang) : undefined;
    return { id, title: `${i + 1}. ${label}`, ...(description ? { description } : {}) };
  });
  return { kind: "choice", options };
}

/** The question the top flow waits on, if a button can answer it. */
export function questionOf(state: AssistantState, offers: Offer[] = []): Question | null {
  const top = state.stack.at(-1);
  if (!top) return null;
  if (top.awaiting === "confirm") return { kind: "confirm", turn: state.turns };
  if (top.awaiting === "choice" && top.options.length > 0) return optionLabels(top, offers, state.language);
  return null;
}

const UI = {
  "pt-BR": { yes: "Sim", no: "Não", pick: "Escolha uma opção:", open: "Ver opções" },
  en: { yes: "Yes", no: "No", pick: "Pick an option:", open: "See options" },
} as const;

/**
 * The messages of one reply: the text (split at 4096), with the question's buttons or list attached
 * to its last part when that part fits an interactive body (1024); else the buttons follow with a
 * short prompt. More than 10 options stay text (the customer answers by number).
 */
export function renderReply(input: {
  to: string;
  reply: string;
  question: Question | null;
  language: Language;
}): OutboundMessage[] {
  const { to, question, language } = input;
  const ui = UI[language];
  const texts = splitText(input.reply);
  let interactive: ((body: string) => OutboundMessage) | null = null;
  if (question?.kind === "confirm") {
    interactive = (body) => ({
      kind: "buttons",
      to,
      body,
      buttons: [
        { id: `${CONFIRM}yes:${question.turn}`, title: ui.yes },
        { id: `${CONFIRM}no:${question.turn}`, title: ui.no },
      ],
    });
  } else if (question?.kind === "choice" && question.options.length <= LIMITS.buttons) {
    interactive = (body) => ({
      kind: "buttons",
      to,
      body,
      buttons: question.options.map((o) => ({
        id: `${OPTION}${o.id}`,
        title: clip(o.title, LIMITS.buttonTitle),
      })),
    });
  } else if (question?.kind === "choice" && question.options.length <= LIMITS.rows) {
    interactive = (body) => ({
      kind: "list",
      to,
      body,
      button: clip(ui.open, LIMITS.listButton),
      rows: question.options.map((o) => ({
        id: `${OPTION}${o.id}`,
        title: clip(o.title, LIMITS.rowTitle),
        ...(o.description ? { description: clip(o.description, LIMITS.rowDescription) } : {}),
      })),
    });
  }
  if (!interactive) return texts.map((text) => ({ kind: "text", to, text }));
  const last = texts.at(-1);
  if (last !== undefined && last.length <= LIMITS.interactiveBody)
    return [...texts.slice(0, -1).map((text) => ({ kind: "text" as const, to, text })), interactive(last)];
  return [...texts.map((text) => ({ kind: "text" as const, to, text })), interactive(ui.pick)];
}

export type ReplyId = { kind: "option"; option: string } | { kind: "confirm"; yes: boolean; turn: number };

/** Reads an id this file put on a button or row; null for anything else (a template's payload…). */
export function decodeReplyId(id: string): ReplyId | null {
  if (id.startsWith(OPTION) && id.length > OPTION.length)
    return { kind: "option", option: id.slice(OPTION.length) };
  const m = /^cnf:(yes|no):(\d{1,9})$/.exec(id);
  if (m) return { kind: "confirm", yes: m[1] === "yes", turn: Number(m[2]) };
  return null;
}

/**
 * The words a tapped button stands for, if it still answers the question the assistant is waiting
 * on: an option still listed becomes "opção N" / "option N" (its current position); a yes/no tap
 * counts only for the very question it was sent with (no turn since). Anything else is stale.
 */
export function messageForReply(r: ReplyId, state: AssistantState): { message: string } | { stale: true } {
  const top = state.stack.at(-1);
  const en = state.language === "en";
  if (r.kind === "option") {
    const index = top && top.awaiting === "choice" ? top.options.indexOf(r.option) : -1;
    if (index < 0) return { stale: true };
    return { message: en ? `option ${index + 1}` : `opção ${index + 1}` };
  }
  if (top?.awaiting !== "confirm" || state.turns !== r.turn) return { stale: true };
  return { message: r.yes ? (en ? "yes" : "sim") : en ? "no" : "não" };
}

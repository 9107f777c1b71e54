import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import { parseWebhook } from "./payload.ts";
import { fixture, fixtureBytes } from "./testing.ts";

const PID = "106540352242922";

describe("parseWebhook on recorded Cloud API payloads", () => {
  it("reads a text message as sent (accents from \\u escapes), with the sender and timestamp", () => {
    const raw = JSON.parse(fixtureBytes("text-message").toString("utf8"));
    const p = parseWebhook(raw, { phoneNumberId: PID });
    expect(p.skipped).toEqual([]);
    expect(p.messages).toEqual([
      {
        id: "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFjNFQjBCQjY1QjlFMjc3MjU0RkQ4RTQA",
        from: "5511987650001",
        timestamp: 1767175200,
        type: "text",
        kind: "text",
        text: "Oi! Minha internet tá caindo toda hora, o que eu faço?",
        profile_name: "João",
      },
    ]);
  });

  it("reads button replies, list replies and template quick replies with their ids", () => {
    const button = parseWebhook(fixture("button-reply"), { phoneNumberId: PID }).messages[0];
    expect(button).toMatchObject({
      kind: "reply",
      reply: { id: "opt:RET-UPGRADE", title: "2. Upgrade 500 Mega", source: "button_reply" },
      context_id: "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEjQyNzM3NjE2QzYxRTdGQjc1MgA=",
    });
    const list = parseWebhook(fixture("list-reply"), { phoneNumberId: PID }).messages[0];
    expect(list).toMatchObject({
      kind: "reply",
      reply: { id: "opt:SLOT-2026-01-05-AM", title: "1. 05/01 08:00-12:00", source: "list_reply" },
    });
    const quick = parseWebhook(fixture("template-quick-reply"), { phoneNumberId: PID }).messages[0];
    expect(quick).toMatchObject({
      kind: "reply",
      type: "button",
      reply: { id: "Continuar atendimento", title: "Continuar atendimento", source: "button" },
    });
  });

  it("reads status callbacks, errors included", () => {
    const p = parseWebhook(fixture("statuses"), { phoneNumberId: PID });
    expect(p.messages).toEqual([]);
    expect(p.statuses.map((s) => s.status)).toEqual(["sent", "delivered", "read", "failed"]);
    expect(p.statuses[3].errors).toEqual([
      { code: 131026, title: "Message undeliverable", details: "Message Undeliverable." },
    ]);
    expect(p.statuses[0]).toMatchObject({ recipient_id: "5511987650001", timestamp: 1767175205 });
  });

  it("classifies media and reactions", () => {
    expect(parseWebhook(fixture("image-message"), { phoneNumberId: PID }).messages[0].kind).toBe("media");
    expect(parseWebhook(fixture("reaction"), { phoneNumberId: PID }).messages[0].kind).toBe("ignored");
  });

  it("skips another phone number's changes and malformed messages, naming where", () => {
    const other = parseWebhook(fixture("text-message", { phoneNumberId: "999" }), { phoneNumberId: PID });
    expect(other.messages).toEqual([]);
    expect(other.skipped).toEqual(["entry[0].changes[0]: phone_number_id 999 is not this channel's"]);
    const broken = fixture("text-message");
    const msg = (broken.entry as { changes: { value: { messages: Record<string, unknown>[] } }[] }[])[0]
      .changes[0].value.messages[0];
    delete msg.from;
    const p = parseWebhook(broken, { phoneNumberId: PID });
    expect(p.messages).toEqual([]);
    expect(p.skipped[0]).toMatch(/^entry\[0\]\.changes\[0\]\.value\.messages\[0\]\.from: /);
  });

  it("rejects a body that is not a webhook envelope, naming the field", () => {
    expect(() => parseWebhook({ object: "whatsapp_business_account", entry: {} })).toThrow(ValidationError);
    let caught: unknown;
    try {
      parseWebhook({ object: "whatsapp_business_account", entry: [{ changes: [{ value: {} }] }] });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).field).toBe("body.entry.0.changes.0.field");
    expect(parseWebhook({ object: "page", entry: [] }).skipped).toEqual([
      "object page is not whatsapp_business_account",
    ]);
  });
});

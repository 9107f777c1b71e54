import { generateText, stepCountIs } from "ai";
import type { AssistantConfig } from "../../platform/config/sections/assistant.ts";
import { type LlmProvider, llmRef } from "../../platform/ports/llm.ts";
import { collectFacts, groundingViolations } from "../guardrails/grounding.ts";
import { withFallback } from "../prompts/fallback.ts";
import { composePrompts } from "../prompts/loader.ts";
import type { CallRecord, ToolName } from "../tools/toolbox.ts";
import type { OpenQuestionInput, PhraseInput, Phraser, PhrasingTrace } from "./engine.ts";

/**
 * What a generative model does in the assistant: it rephrases the template answer from the turn's
 * facts (the phrasing prompt), and answers questions no flow covers with read-only tools. Either text
 * is sent only if every amount, date, plan and offer id in it comes from the facts; otherwise the
 * template answer goes out and the trace says why. A provider failure falls back the same way.
 */

/** Tools the open-question loop may call: they read, and change nothing in any system. */
export const READ_ONLY_TOOLS = [
  "get_customer_profile",
  "explain_invoice",
  "recommend_plan",
  "search_knowledge_base",
] as const satisfies readonly ToolName[];

function historyText(h: PhraseInput["history"]): string {
  return h.map((m) => `${m.role === "user" ? "Customer" : "Assistant"}: ${m.text}`).join("\n");
}

export function createPhraser(llm: LlmProvider, config: AssistantConfig): Phraser {
  const model = llmRef(llm);
  return {
    async phrase(input) {
      const composed = composePrompts(
        { prompt: "system", vars: { language: input.language, customer_first_name: "" } },
        { prompt: "rules" },
        {
          prompt: "phrasing",
          vars: {
            language: input.language,
            customer_message: input.message,
            template_answer: input.templateReply,
            tool_results: JSON.stringify(input.facts),
          },
        },
      );
      const history = historyText(input.history);
      const r = await withFallback(llm, {
        purpose: "phrase",
        prompts: composed.refs,
        call: ({ model: m, abortSignal, maxRetries }) =>
          generateText({
            model: m,
            abortSignal,
            maxRetries,
            system: composed.text,
            prompt: history
              ? `Conversation so far:\n${history}\n\nWrite the reply now.`
              : "Write the reply now.",
          }),
        local: () => null,
      });
      const trace: PhrasingTrace = { used: "template", model };
      if (r.source === "local" || !r.value) {
        if (r.trace.error)
          trace.fallback = { from: "llm", error: `${r.trace.error.reason}: ${r.trace.error.message}` };
        trace.reason = "provider fell back to local";
        return { reply: input.templateReply, trace, prompts: composed.refs };
      }
      const text = r.value.text.trim();
      if (!text)
        return {
          reply: input.templateReply,
          trace: { ...trace, reason: "empty reply" },
          prompts: composed.refs,
        };
      // The template's own text counts as a fact source: it was written from the same results.
      const facts = collectFacts([...input.facts, input.templateReply]);
      const violations = groundingViolations(text, facts);
      if (violations.length > 0)
        return {
          reply: input.templateReply,
          trace: { ...trace, reason: "grounding check failed", violations },
          prompts: composed.refs,
        };
      return { reply: text, trace: { used: "generated", model }, prompts: composed.refs };
    },

    async answerOpen(input: OpenQuestionInput) {
      const calls: CallRecord<string, unknown>[] = [];
      const tools = Object.fromEntries(READ_ONLY_TOOLS.map((n) => [n, input.toolbox.tools[n]]));
      const composed = composePrompts(
        { prompt: "system", vars: { language: input.language, customer_first_name: "" } },
        { prompt: "rules" },
      );
      const history = historyText(input.history);
      const r = await withFallback(llm, {
        purpose: "tool_loop",
        prompts: composed.refs,
        call: ({ model: m, abortSignal, maxRetries }) =>
          generateText({
            model: m,
            abortSignal,
            maxRetries,
            system: composed.text,
            prompt: `${history ? `Conversation so far:\n${history}\n\n` : ""}Customer: ${input.message}`,
            tools,
            stopWhen: stepCountIs(config.maxToolSteps),
          }),
        local: () => null,
      });
      const trace: PhrasingTrace = { used: "template", model };
      if (r.source === "local" || !r.value) {
        if (r.trace.error)
          trace.fallback = { from: "llm", error: `${r.trace.error.reason}: ${r.trace.error.message}` };
        return { reply: null, trace, prompts: composed.refs, calls };
      }
      const results: unknown[] = [];
      for (const step of r.value.steps)
        for (const tr of step.toolResults) {
          results.push(tr.output);
          calls.push({ name: tr.toolName, args: tr.input, ok: true, result: tr.output, ms: 0 });
        }
      const text = r.value.text.trim();
      if (!text)
        return { reply: null, trace: { ...trace, reason: "empty reply" }, prompts: composed.refs, calls };
      const violations = groundingViolations(text, collectFacts(results));
      if (violations.length > 0)
        return {
          reply: null,
          trace: { ...trace, reason: "grounding check failed", violations },
          prompts: composed.refs,
          calls,
        };
      return { reply: text, trace: { used: "generated", model }, prompts: composed.refs, calls };
    },
  };
}

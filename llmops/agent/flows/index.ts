import type { FlowName } from "../../conversation/commands.ts";
import { cancellationFlow } from "./cancellation.ts";
import type { FlowDefinition } from "./flow.ts";
import { humanHandoffFlow } from "./human-handoff.ts";
import { identityFlow } from "./identity.ts";
import { internetDiagnosisFlow } from "./internet-diagnosis.ts";
import { invoiceCopyFlow } from "./invoice-copy.ts";
import { invoiceExplanationFlow } from "./invoice-explanation.ts";
import { planRecommendationFlow } from "./plan-recommendation.ts";

/** Every journey, by the name the command language uses (one file per journey). */
export const FLOWS: Record<FlowName, FlowDefinition> = {
  identity: identityFlow,
  internet_diagnosis: internetDiagnosisFlow,
  invoice_explanation: invoiceExplanationFlow,
  invoice_copy: invoiceCopyFlow,
  cancellation: cancellationFlow,
  plan_recommendation: planRecommendationFlow,
  human_handoff: humanHandoffFlow,
};

/** The CRM category a journey's interaction is registered under. */
export const FLOW_CATEGORY: Record<FlowName, string> = {
  identity: "identity",
  internet_diagnosis: "internet_diagnosis",
  invoice_explanation: "invoice_explanation",
  invoice_copy: "invoice_copy",
  cancellation: "cancellation",
  plan_recommendation: "plan_change",
  human_handoff: "handoff",
};

/** The hand-off topic (queue) of a journey. */
export const FLOW_TOPIC: Record<FlowName, "billing" | "technical" | "retention" | "cancellation" | "other"> =
  {
    identity: "other",
    internet_diagnosis: "technical",
    invoice_explanation: "billing",
    invoice_copy: "billing",
    cancellation: "cancellation",
    plan_recommendation: "retention",
    human_handoff: "other",
  };

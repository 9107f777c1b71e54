import type { ChurnRiskService } from "../../platform/ports/churn-risk.ts";
import type { OperatorSystems } from "../../platform/ports/operator-systems.ts";
import { decideOffers } from "../rules/decide.ts";
import { fidelityFine, loadRules } from "../rules/engine.ts";
import type { OfferRules } from "./types.ts";

/** The rules engine of llmops/rules (data/rules) as the tools use it; the toolbox's default. */
export function offerRulesFromEngine(deps: {
  systems: OperatorSystems;
  churn: ChurnRiskService;
  /** The rules folder; data/rules by default. */
  rulesDir?: string;
}): OfferRules {
  const rules = () => (deps.rulesDir ? loadRules(deps.rulesDir) : loadRules());
  return {
    decideOffers: (customerId, opts) =>
      decideOffers(
        customerId,
        { systems: deps.systems, churn: deps.churn, rules: rules() },
        { sessionId: opts.sessionId },
      ),
    fidelityFine: (contract, businessDate) => fidelityFine(contract, businessDate, { rules: rules() }),
  };
}

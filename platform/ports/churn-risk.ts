/**
 * Churn-risk port: the champion model's score for one customer, as the assistant's tools and the
 * offers rules use it. Adapters: in-process scoring (mlops/serving) or the churn API over HTTP.
 */
export interface ChurnRiskReason {
  feature: string;
  /** Readable label, e.g. "fidelidade termina em 1 mês". */
  label: string;
  contribution: number;
}

export interface ChurnRisk {
  customer_id: string;
  probability: number;
  band: "low" | "medium" | "high";
  reasons: ChurnRiskReason[];
  model_name: string;
  model_version: string;
  /** Dataset version the model was trained on (lineage). */
  data_version: string | null;
  /** Date the features describe. */
  as_of: string;
}

export interface ChurnRiskService {
  /** null when the customer has no features (e.g. cancelled, or not in the online store). */
  risk(customerId: string, opts?: { language?: "pt-BR" | "en" }): Promise<ChurnRisk | null>;
}

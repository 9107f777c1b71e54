import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NotFoundError } from "../../../platform/errors.ts";
import type { Warehouse } from "../../../platform/ports/warehouse.ts";

/**
 * Loads the public IBM Telco churn CSV into `gold.ibm_telco_training` with the agreed training
 * shape, so tests and benchmarks can run the training flow without the ingestion pipeline.
 */

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CSV_NAME = "telco-customer-churn.csv";

const CANDIDATES = [resolve(REPO_ROOT, "../shared/data", CSV_NAME), `/work/shared/data/${CSV_NAME}`];

/** Path of the IBM CSV (`../shared/data/` beside the repository, else /work/shared/data/), or undefined. */
export function findIbmCsv(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

/** Path of the IBM CSV: `../shared/data/` beside the repository, else /work/shared/data/. */
export function ibmCsvPath(): string {
  const candidates = CANDIDATES;
  const found = findIbmCsv();
  if (!found) {
    throw new NotFoundError(`IBM Telco CSV (${CSV_NAME})`, { hint: `Looked in ${candidates.join(", ")}.` });
  }
  return found;
}

/** Creates gold.ibm_telco_training (7,043 rows, 19 features) in a DuckDB warehouse. */
export async function loadIbmTrainingTable(warehouse: Warehouse, csvPath = ibmCsvPath()): Promise<void> {
  const path = csvPath.replaceAll("'", "''");
  await warehouse.exec(`
    create schema if not exists gold;
    create or replace table gold.ibm_telco_training as
    select
      customerID as customer_id,
      (Churn = 'Yes')::INTEGER as label,
      gender, SeniorCitizen::INTEGER as senior_citizen, Partner as partner, Dependents as dependents,
      tenure::DOUBLE as tenure, PhoneService as phone_service, MultipleLines as multiple_lines,
      InternetService as internet_service, OnlineSecurity as online_security, OnlineBackup as online_backup,
      DeviceProtection as device_protection, TechSupport as tech_support, StreamingTV as streaming_tv,
      StreamingMovies as streaming_movies, Contract as contract, PaperlessBilling as paperless_billing,
      PaymentMethod as payment_method, MonthlyCharges::DOUBLE as monthly_charges,
      try_cast(nullif(trim(TotalCharges), '') as DOUBLE) as total_charges
    from read_csv('${path}', header = true, all_varchar = true)
  `);
}

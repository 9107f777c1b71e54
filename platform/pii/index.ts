/** Brazilian personal-data detection and masking: the one implementation for guardrails, traces and logs. */
export {
  type DetectOptions,
  detectPii,
  detectPiiByKey,
  PII_KINDS,
  type PiiKind,
  type PiiMatch,
  piiKindOfKey,
} from "./detect.ts";
export { displayCep, displayCpf, displayEmail, displayPhone } from "./display.ts";
export { MASK_STYLES, type MaskOptions, maskObject, maskPii, maskUrl, maskUrlFull } from "./mask.ts";
export { percentDecode } from "./percent.ts";

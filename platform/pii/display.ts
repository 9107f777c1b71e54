/**
 * Partial masks for showing customers their OWN verified data ("***4321" lets a person recognise
 * their phone). Logs, traces and anything sent to a model use the full masks (MASK_STYLES); these are
 * only for replies to the authenticated customer, through the tools.
 */
export function displayCpf(cpf: string): string {
  const d = cpf.replace(/\D/g, "");
  if (d.length !== 11) return "***";
  return `***.${d.slice(3, 6)}.***-**`;
}

export function displayPhone(phone: string): string {
  const d = phone.replace(/\D/g, "");
  if (d.length < 4) return "***";
  return `***${d.slice(-4)}`;
}

export function displayEmail(email: string | null): string | null {
  if (!email) return null;
  const at = email.indexOf("@");
  if (at < 1) return "***";
  return `${email[0]}***${email.slice(at)}`;
}

export function displayCep(cep: string): string {
  const d = cep.replace(/\D/g, "");
  return d.length === 8 ? `${d.slice(0, 5)}-***` : "***";
}

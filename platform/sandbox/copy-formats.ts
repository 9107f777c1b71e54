import { boletoFromInvoice } from "../formats/boleto.ts";
import { pixCopiaECola } from "../formats/pix.ts";

/**
 * The Brazilian payment formats of a second copy (platform/formats), behind one module that billing
 * loads on first use.
 */
export function boleto(input: { bankCode: string; amountBrl: number; dueDate: string; ourNumber: string }): {
  barcode: string;
  linhaDigitavel: string;
} {
  return boletoFromInvoice(input);
}

export function pix(input: {
  key: string;
  amountBrl: number;
  merchantName: string;
  merchantCity: string;
  txid: string;
}): string {
  return pixCopiaECola(input);
}

/**
 * Percent-decoding that remembers where each decoded character came from, so a value found in the decoded
 * view of a URL (`%2B5511…` → `+5511…`) can be masked in the URL as written. `decodeURIComponent` cannot
 * do this (no offsets) and throws on a stray "%": escapes that are not valid UTF-8 are kept as written.
 */
export interface DecodedView {
  text: string;
  /** `map[i]` is the offset in the original of decoded character i; `map[text.length]` is the original length. */
  map: number[];
}

const hex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isEscape = (s: string, i: number) =>
  s.charCodeAt(i) === 37 && i + 2 < s.length && hex(s.charCodeAt(i + 1)) && hex(s.charCodeAt(i + 2));

/** True when `s` holds at least one %XX escape. */
export function hasEscapes(s: string): boolean {
  for (let i = s.indexOf("%"); i !== -1; i = s.indexOf("%", i + 1)) if (isEscape(s, i)) return true;
  return false;
}

/** The %XX-decoded view of `s` ("+" is left as is) with its offset map. */
export function percentDecode(s: string): DecodedView {
  let text = "";
  const map: number[] = [];
  let i = 0;
  while (i < s.length) {
    if (!isEscape(s, i)) {
      text += s[i];
      map.push(i);
      i++;
      continue;
    }
    const bytes: number[] = [];
    const at: number[] = [];
    while (i < s.length && isEscape(s, i)) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      at.push(i);
      i += 3;
    }
    let k = 0;
    while (k < bytes.length) {
      const b = bytes[k];
      const n =
        b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
      let ok = n > 0 && k + n <= bytes.length;
      for (let c = 1; ok && c < n; c++) ok = (bytes[k + c] & 0xc0) === 0x80;
      if (ok) {
        const ch = n === 1 ? String.fromCharCode(b) : Buffer.from(bytes.slice(k, k + n)).toString("utf8");
        for (let u = 0; u < ch.length; u++) {
          text += ch[u];
          map.push(at[k]);
        }
        k += n;
      } else {
        text += s.slice(at[k], at[k] + 3);
        map.push(at[k], at[k] + 1, at[k] + 2);
        k++;
      }
    }
  }
  map.push(s.length);
  return { text, map };
}

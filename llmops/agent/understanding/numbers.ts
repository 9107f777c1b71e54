/**
 * Numbers written in words, pt-BR and English ("cento e vinte", "quinhentos", "five hundred"), up
 * to 999,999. Hand-written: no maintained JS library parses Portuguese number words.
 */

const PT_UNITS: Record<string, number> = {
  zero: 0,
  um: 1,
  uma: 1,
  dois: 2,
  duas: 2,
  tres: 3,
  quatro: 4,
  cinco: 5,
  seis: 6,
  sete: 7,
  oito: 8,
  nove: 9,
  dez: 10,
  onze: 11,
  doze: 12,
  treze: 13,
  quatorze: 14,
  catorze: 14,
  quinze: 15,
  dezesseis: 16,
  dezessete: 17,
  dezoito: 18,
  dezenove: 19,
  vinte: 20,
  trinta: 30,
  quarenta: 40,
  cinquenta: 50,
  sessenta: 60,
  setenta: 70,
  oitenta: 80,
  noventa: 90,
  cem: 100,
  cento: 100,
  duzentos: 200,
  duzentas: 200,
  trezentos: 300,
  trezentas: 300,
  quatrocentos: 400,
  quinhentos: 500,
  quinhentas: 500,
  seiscentos: 600,
  setecentos: 700,
  oitocentos: 800,
  novecentos: 900,
};

const EN_UNITS: Record<string, number> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
};

/** Value of one number word (pt or en), undefined when the word is not one. */
export function numberWord(word: string): number | undefined {
  return PT_UNITS[word] ?? EN_UNITS[word];
}

/**
 * Parses a number written in words starting at words[i] ("cento e vinte", "dois mil e quinhentos",
 * "one hundred twenty"). Returns the value and how many words it used, or undefined.
 */
export function parseNumberWords(
  words: readonly string[],
  i: number,
): { value: number; length: number } | undefined {
  let total = 0;
  let current = 0;
  let used = 0;
  let j = i;
  let sawNumber = false;
  while (j < words.length) {
    const w = words[j];
    if ((w === "e" || w === "and") && sawNumber && j + 1 < words.length && isNumberish(words[j + 1])) {
      j++;
      continue;
    }
    if (w === "mil" || w === "thousand") {
      total += (current === 0 ? 1 : current) * 1000;
      current = 0;
      sawNumber = true;
      j++;
      used = j - i;
      continue;
    }
    if (w === "hundred") {
      if (!sawNumber && !(j > i && words[j - 1] === "a")) break;
      current = (current === 0 ? 1 : current) * 100;
      sawNumber = true;
      j++;
      used = j - i;
      continue;
    }
    if (w === "a" && j + 1 < words.length && words[j + 1] === "hundred" && !sawNumber) {
      j++;
      continue;
    }
    const v = numberWord(w);
    if (v === undefined) break;
    current += v;
    sawNumber = true;
    j++;
    used = j - i;
  }
  if (!sawNumber || used === 0) return undefined;
  return { value: total + current, length: used };
}

function isNumberish(w: string): boolean {
  return numberWord(w) !== undefined || w === "mil" || w === "hundred" || w === "thousand";
}

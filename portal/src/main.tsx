import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Console, type Operator, OperatorLogin } from "./console.tsx";
import { CustomerChat, CustomerLogin } from "./customer.tsx";
import { type Lang, STRINGS } from "./i18n.ts";
import "./styles.css";

type Area = "customer" | "console";

function load<T>(key: string): T | null {
  try {
    return JSON.parse(sessionStorage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}
function save(key: string, v: unknown) {
  if (v === null) sessionStorage.removeItem(key);
  else sessionStorage.setItem(key, JSON.stringify(v));
}

function App() {
  const [lang, setLang] = useState<Lang>(
    () => (localStorage.getItem("lang") as Lang) ?? (navigator.language.startsWith("pt") ? "pt-BR" : "en"),
  );
  const [area, setArea] = useState<Area>(() =>
    location.hash.startsWith("#console") ? "console" : "customer",
  );
  const [login, setLogin] = useState(() =>
    load<{ token: string; customer_id: string; first_name: string }>("customer"),
  );
  const [op, setOp] = useState(() => load<Operator>("operator"));
  const s = STRINGS[lang];
  useEffect(() => {
    const onHash = () => setArea(location.hash.startsWith("#console") ? "console" : "customer");
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
    localStorage.setItem("lang", lang);
  }, [lang]);
  return (
    <>
      <a class="skip" href="#main">
        {lang === "pt-BR" ? "Pular para o conteúdo" : "Skip to content"}
      </a>
      <header>
        <h1>{s.brand}</h1>
        <nav aria-label="Portal">
          <a href="#customer" aria-current={area === "customer" ? "page" : undefined}>
            {s.customerArea}
          </a>
          <a href="#console" aria-current={area === "console" ? "page" : undefined}>
            {s.console}
          </a>
        </nav>
        <label>
          {s.language}
          <select name="language" value={lang} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
            <option value="pt-BR">Português (Brasil)</option>
            <option value="en">English</option>
          </select>
        </label>
      </header>
      <main id="main">
        {area === "customer" &&
          (login ? (
            <CustomerChat
              s={s}
              lang={lang}
              login={login}
              onLogout={() => {
                save("customer", null);
                setLogin(null);
              }}
            />
          ) : (
            <CustomerLogin
              s={s}
              onLogin={(l) => {
                save("customer", l);
                setLogin(l);
              }}
            />
          ))}
        {area === "console" &&
          (op ? (
            <Console
              s={s}
              lang={lang}
              op={op}
              onLogout={() => {
                save("operator", null);
                setOp(null);
              }}
            />
          ) : (
            <OperatorLogin
              s={s}
              onLogin={(o) => {
                save("operator", o);
                setOp(o);
              }}
            />
          ))}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);

import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import type { Strings } from "./i18n.ts";

/** What the console (console.tsx) and its views share: the signed-in operator, API reads, the status line. */

export interface Operator {
  key: string;
  role: "viewer" | "operator" | "admin";
  key_id: string;
}

export function useApi<T>(path: string | null, key: string, bump = 0): { data?: T; error?: string } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState({});
    api<T>(path, key)
      .then((data) => live && setState({ data }))
      .catch((e: Error) => live && setState({ error: e.message }));
    return () => {
      live = false;
    };
  }, [path, key, bump]);
  return state;
}

export function Status({ s, error }: { s: Strings; error?: string }) {
  return error ? (
    <p role="alert" class="error">
      {s.error}: {error}
    </p>
  ) : (
    <p aria-busy="true">{s.loading}</p>
  );
}

/**
 * The alert-sink port's contract (platform/ports/alert-sink.ts), run by every sink's tests with the
 * same cases. `setup` gives a sink and what its destination received, each delivery read back as the
 * alert fields it carries (a metric point carries fewer than a webhook body). Sinks that call a
 * server also give twins whose server fails, is unreachable, or never answers within the timeout.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AlertChannelName, AlertNotice, AlertSink } from "../alert-sink.ts";

export interface AlertSinkFixture {
  sink: AlertSink;
  channel: AlertChannelName;
  /** The deliveries the destination holds, as the alert fields each carries. */
  delivered(): Partial<AlertNotice>[];
  /** Sinks that call a server: one that answers HTTP 500 / cannot be reached / never answers. */
  failing?: () => AlertSink;
  unreachable?: () => AlertSink;
  /** Its timeout is far shorter than the server's silence; `release` ends the silence. */
  silent?: () => { sink: AlertSink; release(): void };
  dispose(): Promise<void>;
}

export const CONTRACT_ALERT: AlertNotice = {
  rule: "feature_drift",
  when: "psi > 0.2 on any feature",
  severity: "warning",
  message: "2 features drifted: monthly_price_brl, tenure_months",
  model: "churn",
  at: "2026-12-07T10:00:00.000Z",
  details: { features: ["monthly_price_brl", "tenure_months"], psi: 0.31 },
};

export function alertSinkContract(label: string, setup: () => Promise<AlertSinkFixture>): void {
  describe(`AlertSink contract: ${label}`, () => {
    const open: AlertSinkFixture[] = [];
    const fixture = async () => {
      const f = await setup();
      open.push(f);
      return f;
    };
    afterEach(async () => {
      for (const f of open.splice(0)) await f.dispose();
    });

    it("delivers one alert once, with its rule, severity, model and whatever else the channel carries", async () => {
      const f = await fixture();
      expect(f.sink.channel).toBe(f.channel);
      const result = await f.sink.send(CONTRACT_ALERT);
      expect(result.ok).toBe(true);
      expect(result.error).toBeUndefined();
      const got = f.delivered();
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ rule: "feature_drift", severity: "warning", model: "churn" });
      // Every field a channel carries arrives unchanged.
      for (const [field, value] of Object.entries(got[0]))
        expect(value).toEqual(CONTRACT_ALERT[field as keyof AlertNotice]);
    });

    it("reports a server's failure as a failed delivery, never as a throw", async () => {
      const f = await fixture();
      if (!f.failing) return; // a sink without a server cannot fail to deliver
      const result = await f.failing().send(CONTRACT_ALERT);
      expect(result).toMatchObject({ ok: false, status: 500 });
      expect(result.error).toMatch(/500/);
    });

    it("reports an unreachable server as a failed delivery", async () => {
      const f = await fixture();
      if (!f.unreachable) return;
      const result = await f.unreachable().send(CONTRACT_ALERT);
      expect(result.ok).toBe(false);
      expect(result.error).toEqual(expect.any(String));
    });

    it("gives up on a server that does not answer within its timeout, and says so", async () => {
      const f = await fixture();
      if (!f.silent) return;
      const { sink, release } = f.silent();
      try {
        // The server stays silent until released, so this resolves only through the sink's timeout.
        const result = await sink.send(CONTRACT_ALERT);
        expect(result.ok).toBe(false);
        expect(result.error).toMatch(/time|abort/i);
      } finally {
        release();
      }
    });
  });
}

/**
 * NATS connection metrics: reconnects, and slow-consumer errors the server reports.
 * @module
 */
import type { NatsConnection } from "nats";
import { counter } from "./registry.ts";

const reconnects = counter({
  name: "zester_nats_reconnects_total",
  help: "Times the NATS connection was re-established after it was lost.",
});

const slowConsumers = counter({
  name: "zester_nats_slow_consumers_total",
  help: "Slow-consumer errors the NATS server reported on this connection.",
});

/** Whether a watched connection is up. */
export interface BusState {
  /** False from a disconnect until the next reconnect, and once closed. */
  readonly connected: boolean;
}

/** Count `nc`'s reconnects and slow-consumer errors, and follow whether it is connected. */
export function watchBus(nc: NatsConnection): BusState {
  const state = { connected: !nc.isClosed() };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") state.connected = false;
      else if (s.type === "reconnect") {
        state.connected = true;
        reconnects.inc();
      } else if (s.type === "error" && /slow consumer/i.test(String(s.data))) {
        slowConsumers.inc();
      }
    }
    state.connected = false;
  })();
  return state;
}

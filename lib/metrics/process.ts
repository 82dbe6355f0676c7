/**
 * Process metrics under Prometheus's standard names, from calls that need no permission:
 * resident memory, CPU time and the start time.
 * @module
 */
import { cpuUsage } from "node:process";
import { Counter, Gauge } from "prom-client";
import { registry } from "./registry.ts";

new Gauge({
  name: "process_resident_memory_bytes",
  help: "Resident memory size in bytes.",
  registers: [registry],
  collect() {
    this.set(Deno.memoryUsage().rss);
  },
});

let cpuSeconds = 0;
new Counter({
  name: "process_cpu_seconds_total",
  help: "Total user and system CPU time spent in seconds.",
  registers: [registry],
  collect() {
    const { user, system } = cpuUsage();
    const now = (user + system) / 1e6;
    this.inc(Math.max(0, now - cpuSeconds));
    cpuSeconds = now;
  },
});

new Gauge({
  name: "process_start_time_seconds",
  help: "Start time of the process since unix epoch in seconds.",
  registers: [registry],
}).set(Math.floor(performance.timeOrigin) / 1000);

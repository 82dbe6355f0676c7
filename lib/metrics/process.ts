/**
 * Process metrics under Prometheus's standard names, from calls that need no permission:
 * resident memory, CPU time and the start time.
 * @module
 */
import { cpuUsage } from "node:process";
import { sampled } from "./registry.ts";

sampled(
  "gauge",
  "process_resident_memory_bytes",
  "Resident memory size in bytes.",
  () => Deno.memoryUsage().rss,
);

sampled(
  "counter",
  "process_cpu_seconds_total",
  "Total user and system CPU time spent in seconds.",
  () => {
    const { user, system } = cpuUsage();
    return (user + system) / 1e6;
  },
);

const started = Math.floor(performance.timeOrigin) / 1000;
sampled(
  "gauge",
  "process_start_time_seconds",
  "Start time of the process since unix epoch in seconds.",
  () => started,
);

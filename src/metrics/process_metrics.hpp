#pragma once
// process_* metrics as the Prometheus client libraries export them (client_golang's process
// collector, prometheus_client's ProcessCollector), read from /proc/self at scrape time:
// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds. On a system without /proc
// the values are 0.
#include "metrics/registry.hpp"

namespace nbhub::metrics {

void add_process_metrics(Registry& registry);

struct ProcessSample {
  double cpu_seconds = 0;         // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double open_fds = 0;
  double max_fds = 0;
};
ProcessSample sample_process();

}  // namespace nbhub::metrics

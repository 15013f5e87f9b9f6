#pragma once
// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP` and `# TYPE` lines,
// then one sample per line, `name{label="value",...} value`. Numbers are written as the
// Python client writes them (prometheus_client.utils.floatToGoString): "1.0", "0.005",
// "+Inf", "NaN", so that `le` labels match JupyterHub's byte for byte.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.hpp"

namespace nbhub::metrics {

// HELP text: backslash and newline escaped.
void append_escaped_help(std::string& out, std::string_view help);
// A label value: backslash, double quote and newline escaped.
void append_escaped_label(std::string& out, std::string_view value);
// A sample value or `le` bound.
void append_number(std::string& out, double v);

void write_header(std::string& out, std::string_view name, std::string_view help, Type type);
void write_sample(std::string& out, std::string_view name, std::span<const std::string> label_names,
                  std::span<const std::string> label_values, double value);
// name_bucket{...,le="..."} for each bound and +Inf, then name_sum and name_count.
void write_histogram(std::string& out, std::string_view name, std::span<const std::string> label_names,
                     std::span<const std::string> label_values, Histogram const& h);

}  // namespace nbhub::metrics

#include "metrics/exposition.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace nbhub::metrics {

void append_escaped_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void append_escaped_label(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) { out += "NaN"; return; }
  if (std::isinf(v)) { out += v > 0 ? "+Inf" : "-Inf"; return; }
  auto start = out.size();
  fmt::format_to(std::back_inserter(out), "{}", v);  // shortest round-trip, as Python's repr
  // Python's repr writes integral floats with ".0" ("1.0", "42.0") unless in exponent form.
  if (out.find_first_of(".e", start) == std::string::npos) out += ".0";
}

void write_header(std::string& out, std::string_view name, std::string_view help, Type type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped_help(out, help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += to_string(type);
  out += '\n';
}

namespace {

void append_labels(std::string& out, std::span<const std::string> names, std::span<const std::string> values,
                   std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    append_escaped_label(out, i < values.size() ? std::string_view(values[i]) : std::string_view{});
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

}  // namespace

void write_sample(std::string& out, std::string_view name, std::span<const std::string> label_names,
                  std::span<const std::string> label_values, double value) {
  out += name;
  append_labels(out, label_names, label_values);
  out += ' ';
  append_number(out, value);
  out += '\n';
}

void write_histogram(std::string& out, std::string_view name, std::span<const std::string> label_names,
                     std::span<const std::string> label_values, Histogram const& h) {
  auto s = h.snapshot();
  auto bounds = h.bounds();
  std::string le;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    le.clear();
    if (i < bounds.size()) append_number(le, bounds[i]);
    else le = "+Inf";
    out += name;
    out += "_bucket";
    append_labels(out, label_names, label_values, le);
    out += ' ';
    append_number(out, static_cast<double>(s.cumulative[i]));
    out += '\n';
  }
  out += name;
  out += "_count";
  append_labels(out, label_names, label_values);
  out += ' ';
  append_number(out, static_cast<double>(s.count));
  out += '\n';
  out += name;
  out += "_sum";
  append_labels(out, label_names, label_values);
  out += ' ';
  append_number(out, s.sum);
  out += '\n';
}

}  // namespace nbhub::metrics

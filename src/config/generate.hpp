#pragma once
// Text generated from the option table (config/options.hpp) and the importer's trait tables
// (config/pyconfig_tables.hpp): the commented nbhub.toml of `nbhub --generate-config`, and the
// generated parts of docs/config.md and docs/migrating-from-jupyterhub.md. A unit test fails
// when those documents differ from what is generated here (tests/unit/config/docs_test.cpp).
#include <string>
#include <string_view>

namespace nbhub::config {

// A complete nbhub.toml: every option commented out with its default, type, environment
// variable and documentation. Loading it unchanged yields the built-in defaults.
std::string generate_config();

// The options reference as Markdown (`nbhub --generate-config --format markdown`).
std::string generate_markdown();

// A named generated block: "options", "environment", "py-classes", "py-traits"; "" if unknown.
std::string generated_block(std::string_view name);

// `doc` with the text between each "<!-- BEGIN GENERATED name -->" and
// "<!-- END GENERATED name -->" line replaced by generated_block(name).
std::string update_generated_blocks(std::string_view doc);

}  // namespace nbhub::config

# cmake -DIN=file -DOUT=header -P embed_text.cmake: writes a header holding IN's text as
# `inline constexpr std::string_view kEmbeddedText`, in a raw string literal.
file(READ ${IN} text)
string(FIND "${text}" ")nbhub_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter")
endif()
file(WRITE ${OUT}.tmp "// Generated from ${IN} by cmake/embed_text.cmake; do not edit.\n#pragma once\n#include <string_view>\n\nnamespace nbhub::embedded {\ninline constexpr std::string_view kRuntimePy = R\"nbhub_embed(${text})nbhub_embed\";\n}\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)

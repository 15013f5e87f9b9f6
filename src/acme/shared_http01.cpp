#include "acme/shared_http01.hpp"

#include <spdlog/logger.h>

namespace nbhub::acme {

Http01Responder::SharedLookup store_lookup(store::Store& store) {
  return [&store](std::string const& token) -> std::optional<std::string> {
    auto rec = store.get_acme_record(std::string(kHttp01RecordPrefix) + token);
    if (!rec || !*rec) return std::nullopt;
    return (*rec)->sealed;
  };
}

Http01Solver::Publish store_publisher(store::Store& store, Clock const& clock, spdlog::logger& log) {
  return [&store, &clock, &log](std::string const& token, std::optional<std::string> answer) {
    auto const name = std::string(kHttp01RecordPrefix) + token;
    std::optional<Error> failed;
    if (answer) {
      if (auto r = store.put_acme_record(name, *answer, clock.now()); !r) failed = r.error();
    } else if (auto r = store.delete_acme_record(name); !r) {
      failed = r.error();
    }
    if (failed) log.warn("acme: sharing the HTTP-01 answer with other hubs: {}", failed->message);
  };
}

}  // namespace nbhub::acme

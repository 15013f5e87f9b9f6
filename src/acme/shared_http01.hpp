#pragma once
// HTTP-01 answers shared between the hubs on one database (challenges.hpp says why): the lease
// holder publishes each answer as the record kHttp01RecordPrefix + token, and every hub's
// responder looks a token it does not know up there. Both calls block on the store.
#include "acme/challenges.hpp"
#include "core/clock.hpp"
#include "store/store.hpp"

namespace spdlog { class logger; }

namespace nbhub::acme {

// For Http01Responder's constructor. `store` must outlive the responder.
Http01Responder::SharedLookup store_lookup(store::Store& store);
// For Http01Solver's constructor: a failure to share is logged, not fatal (the CA may still
// reach this hub). References must outlive the solver.
Http01Solver::Publish store_publisher(store::Store& store, Clock const& clock, spdlog::logger& log);

}  // namespace nbhub::acme

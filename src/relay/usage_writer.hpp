// relay/usage_writer: moves what relay_context::usage accumulated into the store's usage rows
// every settings.usage_interval (on the store worker; a failed write is kept for the next one),
// prunes rows older than settings.usage_retention_days once an hour, and writes the rest at
// shutdown, so counts survive a restart.
#pragma once
#include "net/types.hpp"
#include "relay/context.hpp"

namespace hc::relay {

// Runs until the relay's io_context stops.
net::task<> keep_usage(relay_context& ctx);
// At shutdown, after the store worker finished: the last rows, written on the calling thread.
void write_last_usage(relay_context& ctx);

}  // namespace hc::relay

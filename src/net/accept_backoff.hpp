// net/accept_backoff: what every accept loop (the relay, hcconnect's endpoints, the local HTTP
// servers) does when accept fails, typically out of file descriptors: say so and pause
// limits::accept_retry_delay. Retrying at once would spin (and flood the log) until a descriptor
// is freed.
#pragma once
#include "net/types.hpp"

#include <string_view>

namespace hc::net {

task<> back_off_after_accept_error(error_code ec, std::string_view where);

}  // namespace hc::net

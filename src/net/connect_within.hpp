// net/connect_within: a TCP connect (connect_tcp: resolution reused, TCP_NODELAY, an optional
// address filter) that gives up after a time limit, cancelling the resolve or connect still
// pending. The one way agents dial with a deadline: relay legs (egress_proxy) and endpoints
// (manager/endpoint_dial).
#pragma once
#include "net/ws_client.hpp"

#include <chrono>
#include <string>
#include <utility>

namespace hc::net {

// asio::error::timed_out when `limit` passed first.
task<std::pair<error_code, tcp::socket>> connect_within(const std::string& host, std::uint16_t port,
                                                        std::chrono::steady_clock::duration limit,
                                                        const address_filter& allowed = {});

}  // namespace hc::net

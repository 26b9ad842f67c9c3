// net/address_range: lists of addresses and networks ("10.0.0.0/8,127.0.0.1,fd00::/8"), and one
// address matched against one entry: the relay's trusted load balancers (--proxy-protocol) and the
// agents' no_proxy. An IPv4-mapped IPv6 address (a dual-stack socket's peer) matches as IPv4.
#pragma once
#include "net/types.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hc::net {

// True when `entry` is ADDRESS/BITS holding `ip` or the address `ip` itself; false for anything
// else (names, malformed entries).
bool address_matches(const asio::ip::address& ip, std::string_view entry);

class address_ranges {
 public:
  address_ranges() = default;
  // A comma-separated list of addresses and ADDRESS/BITS networks. Throws std::invalid_argument
  // naming `option` and the entry that is neither.
  static address_ranges parse(std::string_view list, const std::string& option);
  bool contains(const asio::ip::address& ip) const;
  bool empty() const { return entries_.empty(); }
  const std::vector<std::string>& entries() const { return entries_; }

 private:
  std::vector<std::string> entries_;
};

}  // namespace hc::net

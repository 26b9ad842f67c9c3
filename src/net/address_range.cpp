// net/address_range: address and network matching (see address_range.hpp).
#include "net/address_range.hpp"

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <stdexcept>

namespace hc::net {
namespace {

asio::ip::address unmapped(const asio::ip::address& ip) {
  if (ip.is_v6() && ip.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  return ip;
}

}  // namespace

bool address_matches(const asio::ip::address& ip_in, std::string_view entry) {
  auto ip = unmapped(ip_in);
  error_code ec;
  auto slash = entry.find('/');
  if (slash == std::string_view::npos) {
    auto single = asio::ip::make_address(entry, ec);
    return !ec && unmapped(single) == ip;
  }
  if (ip.is_v4()) {
    auto network = asio::ip::make_network_v4(entry, ec);
    return !ec &&
           asio::ip::make_network_v4(ip.to_v4(), network.prefix_length()).canonical() == network.canonical();
  }
  auto network = asio::ip::make_network_v6(entry, ec);
  return !ec &&
         asio::ip::make_network_v6(ip.to_v6(), network.prefix_length()).canonical() == network.canonical();
}

address_ranges address_ranges::parse(std::string_view list, const std::string& option) {
  address_ranges out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto entry = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) continue;
    error_code ec;
    auto slash = entry.find('/');
    if (slash == std::string_view::npos) {
      asio::ip::make_address(entry, ec);
    } else if (entry.find(':') == std::string_view::npos) {
      asio::ip::make_network_v4(entry, ec);
    } else {
      asio::ip::make_network_v6(entry, ec);
    }
    if (ec)
      throw std::invalid_argument(option + ": '" + std::string(entry) +
                                  "' is neither an IP address nor ADDRESS/BITS (such as 10.0.0.0/8)");
    out.entries_.emplace_back(entry);
  }
  return out;
}

bool address_ranges::contains(const asio::ip::address& ip) const {
  for (const auto& entry : entries_)
    if (address_matches(ip, entry)) return true;
  return false;
}

}  // namespace hc::net

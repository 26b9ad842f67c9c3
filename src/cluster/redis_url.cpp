// cluster/redis_url: the redis:// URL parser (see redis_url.hpp), on Boost.URL's RFC 3986 parser.
#include "cluster/redis_url.hpp"

#include "proto/encoding.hpp"
#include "proto/endpoint.hpp"

#include <boost/url/parse.hpp>

#include <charconv>
#include <limits>
#include <optional>

namespace hc::cluster {
namespace {

constexpr std::string_view url_form = "write redis://[[user]:password@]host[:port][/db]";

proto::error url_error(std::string why) {
  return proto::error::bad_request("redis URL: " + std::move(why) + "; " + std::string(url_form));
}

// A decimal number in [low, high], or nullopt.
std::optional<long> number_in(std::string_view text, long low, long high) {
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < low || value > high)
    return std::nullopt;
  return value;
}

}  // namespace

std::string redis_endpoint::address() const {
  return proto::endpoint{host, port}.to_string();
}

proto::result<redis_endpoint> parse_redis_url(std::string_view url) {
  // Not quoted in messages from here on: the URL may hold the password.
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return url_error("not a URL (" + parsed.error().message() + ")");
  const auto& u = *parsed;
  if (proto::to_lower(u.scheme()) != "redis")
    return url_error("the scheme " + proto::quote_for_message(u.scheme()) +
                     " is not redis (TLS, rediss://, is not supported)");
  redis_endpoint e;
  e.host = u.host_type() == boost::urls::host_type::ipv6 ? std::string(u.host_address()) : u.host();
  if (e.host.empty()) return url_error("no host");
  if (u.has_port()) {
    auto port = number_in(u.port(), 1, 65535);
    if (!port)
      return url_error("the port " + proto::quote_for_message(u.port()) + " is not a number 1..65535");
    e.port = static_cast<std::uint16_t>(*port);
  }
  if (u.has_userinfo()) {
    if (!u.has_password()) return url_error("the user info has no ':' before the password");
    e.user = u.user();
    e.password = u.password();
    if (e.password.empty()) return url_error("the password after ':' is empty");
  }
  std::string_view path = u.encoded_path();
  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) {
    auto db = number_in(path, 0, std::numeric_limits<int>::max());
    if (!db)
      return url_error("the database " + proto::quote_for_message(path) + " is not a number 0, 1, 2 ...");
    e.db = static_cast<int>(*db);
  }
  if (u.has_query() || u.has_fragment()) return url_error("a query or fragment is not supported");
  return e;
}

}  // namespace hc::cluster

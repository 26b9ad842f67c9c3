// relay/cluster/cluster_options: --cluster and --advertise (see cluster_options.hpp).
#include "relay/cluster/cluster_options.hpp"

#include "util/private_file.hpp"

#include <charconv>
#include <stdexcept>

namespace hc::relay {

node_address parse_advertise(const std::string& text) {
  auto bad = [&] {
    return std::runtime_error(
        "--advertise " + text +
        ": give HOST:PORT (this node's own name and port) or PORT (the namespace's host, "
        "this node's port), such as relay-2.example.net:443 or 9443");
  };
  node_address out;
  auto colon = text.rfind(':');
  std::string port = colon == std::string::npos ? text : text.substr(colon + 1);
  if (colon != std::string::npos) out.host = text.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) throw bad();
  if (colon != std::string::npos && colon > 0 && out.host.empty()) throw bad();
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

cluster::redis_endpoint cluster_endpoint(const std::string& url, const std::string& password_file) {
  auto parsed = cluster::parse_redis_url(url);
  if (!parsed) throw std::runtime_error("--cluster " + parsed.error().message);
  if (!parsed->password.empty())
    throw std::runtime_error(
        "--cluster must not carry a password (the command line is visible to every local user): put it in a "
        "file readable by the relay only and pass --cluster-password-file FILE");
  if (!password_file.empty())
    parsed->password = util::read_secret_file(password_file, "--cluster-password-file");
  return *parsed;
}

}  // namespace hc::relay

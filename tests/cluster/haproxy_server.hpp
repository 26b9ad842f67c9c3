// tests/cluster/haproxy_server: a real HAProxy (Debian's) in front of relay nodes, as
// docs/scale-out.md deploys it: TCP mode (TLS passes through to the nodes), a PROXY v2 header
// naming the client on every connection, sent from haproxy_source, least connections,
// each node checked with GET /healthz over TLS every 500 ms and out after two failures. Runs in
// the foreground as a child of the test (its log next to its configuration); stopped by the
// destructor.
#pragma once
#include "../integration/harness.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace hc::test {

// The address HAProxy connects to the nodes from: the one nodes name in --proxy-protocol. Not
// 127.0.0.1, where tests reach nodes directly without a header.
inline constexpr const char* haproxy_source = "127.0.0.2";

class haproxy_server {
 public:
  // Listens on 127.0.0.1:`port` and spreads over 127.0.0.1:`nodes`; returns once it accepts.
  haproxy_server(const fs::path& dir, std::uint16_t port, const std::vector<std::uint16_t>& nodes);
  std::uint16_t port() const { return port_; }
  child_process& process() { return *process_; }

 private:
  std::uint16_t port_;
  std::optional<child_process> process_;
};

// deploy/haproxy/hcrelay.cfg.in for these ports (what haproxy_server runs).
std::string haproxy_config(std::uint16_t port, const std::vector<std::uint16_t>& nodes);

}  // namespace hc::test

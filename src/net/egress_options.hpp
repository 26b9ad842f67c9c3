// net/egress_options: the --proxy and --proxy-password-file options that hcm, hcconnect and
// hcctl share, and the moment they take effect: when parsing ends, before any verb runs (so
// every relay connection of the process takes the same route). Header-only: CLI11 is too.
#pragma once
#include "net/egress_proxy.hpp"

#include <CLI/CLI.hpp>
#include <memory>
#include <stdexcept>

namespace hc::net {

inline void add_egress_options(CLI::App& app) {
  struct values {
    std::string proxy;
    std::string password_file;
  };
  auto v = std::make_shared<values>();
  app.add_option("--proxy", v->proxy,
                 "Reach the relay through this proxy: http://[USER@]HOST:PORT (HTTP CONNECT) or "
                 "socks5://[USER@]HOST:PORT; 'direct' ignores the environment (default: $https_proxy, "
                 "$all_proxy, with $no_proxy)");
  app.add_option("--proxy-password-file", v->password_file,
                 "The proxy user's password, from a file (mode 0600): never on the command line");
  app.parse_complete_callback([v] {
    try {
      use_egress(egress_from(v->proxy, v->password_file));
    } catch (const std::exception& e) {
      throw CLI::ValidationError(e.what());
    }
  });
}

}  // namespace hc::net

// relay/cluster/cluster_options: hcrelay's --cluster, --cluster-password-file and --advertise
// read into what the cluster link and the accept addresses use.
#pragma once
#include "cluster/redis_url.hpp"

#include <cstdint>
#include <string>

namespace hc::relay {

// The address of this node in the accept addresses it hands out.
struct node_address {
  std::string host;  // "" = the namespace's own host (a port per node behind one name)
  std::uint16_t port = 0;
};

// "HOST:PORT", "[V6]:PORT", or "PORT" / ":PORT" (the namespace's host on this node's port).
// Throws std::runtime_error with a sentence that shows the forms.
node_address parse_advertise(const std::string& text);

// A redis:// URL without a password (the command line is visible to every local user) and the
// file that holds it. Throws std::runtime_error with a sentence that says what to do.
cluster::redis_endpoint cluster_endpoint(const std::string& url, const std::string& password_file);

}  // namespace hc::relay

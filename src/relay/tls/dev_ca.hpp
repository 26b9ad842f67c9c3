// relay/tls/dev_ca: --dev-tls, a development certificate authority and server certificate made with
// OpenSSL on first start so a fresh machine runs TLS with no manual step. Files under DIR/tls/:
// ca.pem (what clients trust), ca.key, server.pem (leaf + CA chain), server.key; keys 0600.
// Reuses existing files when they are valid and cover the requested names.
#pragma once
#include <string>
#include <vector>

namespace hc::relay {

struct dev_tls_files {
  std::string ca_pem;
  std::string server_pem;
  std::string server_key;
};

// `names`: DNS names and IP literals for the server certificate's SAN (localhost, 127.0.0.1,
// the public host, ...). Throws std::runtime_error with OpenSSL's reason on failure.
dev_tls_files ensure_dev_tls(const std::string& tls_dir, const std::vector<std::string>& names);

}  // namespace hc::relay

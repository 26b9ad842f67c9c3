// relay/tls/server_certificate: loading, reloading and widening the server certificate (see
// server_certificate.hpp).
#include "relay/tls/server_certificate.hpp"

#include "relay/tls/dev_ca.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace hc::relay {

void server_certificate::load(std::string cert_path, std::string key_path) {
  cert_path_ = std::move(cert_path);
  key_path_ = std::move(key_path);
  reload();
}

std::string server_certificate::load_dev(std::string tls_dir, std::vector<std::string> names) {
  dev_dir_ = std::move(tls_dir);
  dev_names_ = std::move(names);
  auto files = ensure_dev_tls(dev_dir_, dev_names_);
  load(files.server_pem, files.server_key);
  return files.ca_pem;
}

net::tls_context server_certificate::current() {
  std::lock_guard lock(tls_mutex_);
  return tls_;
}

void server_certificate::reload() {
  auto fresh = net::make_server_tls(cert_path_, key_path_, offer_h2_);
  std::lock_guard lock(tls_mutex_);
  tls_ = std::move(fresh);
}

std::optional<std::string> server_certificate::serve_host(const std::string& host) {
  if (!current()) return std::nullopt;
  if (!dev_dir_.empty()) {
    std::lock_guard issuing(dev_mutex_);  // new connections keep using the current context meanwhile
    if (std::find(dev_names_.begin(), dev_names_.end(), host) != dev_names_.end()) return std::nullopt;
    dev_names_.push_back(host);
    ensure_dev_tls(dev_dir_, dev_names_);
    reload();
    spdlog::info(
        "--dev-tls: certificate re-issued to cover namespace host {}; open connections keep the old one",
        host);
    return std::nullopt;
  }
  if (net::certificate_covers(current(), host)) return std::nullopt;
  auto warning = "the TLS certificate " + cert_path_ + " does not cover host '" + host +
                 "': clients of that namespace will fail certificate verification; add the name to the "
                 "certificate's subjectAltName and send SIGHUP";
  spdlog::warn("{}", warning);
  return warning;
}

}  // namespace hc::relay

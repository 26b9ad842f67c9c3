// relay/tls/server_certificate: the relay's server TLS context for NEW connections: the
// operator's certificate (--tls-cert/--tls-key) or a development one (--dev-tls, tls/dev_ca).
// SIGHUP reloads it; with --dev-tls a namespace created at run time gets its host added to a
// re-issued certificate. Connections already open keep the context they started with.
// Thread-safe: current() on every accept, serve_host() on the store worker.
#pragma once
#include "net/tls.hpp"

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hc::relay {

class server_certificate {
 public:
  // --tls-cert/--tls-key. Throws std::runtime_error naming the file that does not load.
  void load(std::string cert_path, std::string key_path);
  // --dev-tls: issues (or reuses) under `tls_dir` a certificate covering `names`; returns the
  // path of the CA file clients trust.
  std::string load_dev(std::string tls_dir, std::vector<std::string> names);

  // Before load: whether ALPN offers h2 (--no-http2 turns it off).
  void offer_http2(bool offer) { offer_h2_ = offer; }
  // Null with --insecure-plaintext (nothing loaded).
  net::tls_context current();
  // Reads the files again (SIGHUP). Throws and keeps the running context when they do not load.
  void reload();
  const std::string& cert_path() const { return cert_path_; }
  const std::string& key_path() const { return key_path_; }

  // Makes the certificate cover a namespace's host: --dev-tls issues a new one and loads it; an
  // operator's certificate cannot be changed here, so the answer is a warning naming the host.
  // Blocking (--dev-tls runs OpenSSL): call off the I/O threads.
  std::optional<std::string> serve_host(const std::string& host);

 private:
  std::mutex tls_mutex_;
  net::tls_context tls_;  // tls_mutex_
  std::string cert_path_, key_path_;
  bool offer_h2_ = true;
  std::string dev_dir_;                 // --dev-tls only
  std::vector<std::string> dev_names_;  // --dev-tls: what the certificate covers (dev_mutex_)
  std::mutex dev_mutex_;                // held while a certificate is issued (not tls_mutex_)
};

}  // namespace hc::relay

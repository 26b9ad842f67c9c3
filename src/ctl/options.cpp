// ctl/options: connection set-up and JSON printing shared by the hcctl verbs.
#include "ctl/options.hpp"

#include "proto/connection_string.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

namespace hc::ctl {

api_client& options::client() {
  if (client_) return *client_;
  std::string text = connection_string;
  if (text.empty())
    if (const char* env = std::getenv("HCRELAY_CONNECTION_STRING")) text = env;
  if (text.empty())
    throw api_failure(
        "no connection string: pass --connection-string or set HCRELAY_CONNECTION_STRING "
        "(hcrelay writes one to DATA_DIR/root.connection-string)");
  auto cs = proto::parse_connection_string(text);
  if (!cs) throw api_failure("bad connection string: " + cs.error().message);
  auto tls = insecure_plaintext ? net::tls_context{} : net::make_client_tls(net::ca_file_from(ca_file));
  std::string admin = admin_address;
  if (admin.empty())
    if (const char* env = std::getenv("HCRELAY_ADMIN_ADDRESS")) admin = env;
  client_ = std::make_unique<api_client>(*cs, tls, insecure_plaintext, admin);
  return *client_;
}

namespace {

void pretty(std::ostream& os, const boost::json::value& v, int indent) {
  std::string pad(indent * 2, ' ');
  std::string pad_in((indent + 1) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (o.empty()) {
      os << "{}";
      return;
    }
    os << "{\n";
    std::size_t i = 0;
    for (const auto& [k, val] : o) {
      os << pad_in << boost::json::serialize(boost::json::value(k)) << ": ";
      pretty(os, val, indent + 1);
      os << (++i < o.size() ? ",\n" : "\n");
    }
    os << pad << "}";
  } else if (v.is_array()) {
    const auto& a = v.as_array();
    if (a.empty()) {
      os << "[]";
      return;
    }
    os << "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      os << pad_in;
      pretty(os, a[i], indent + 1);
      os << (i + 1 < a.size() ? ",\n" : "\n");
    }
    os << pad << "]";
  } else {
    os << boost::json::serialize(v);
  }
}

}  // namespace

void print_json(const boost::json::value& v) {
  pretty(std::cout, v, 0);
  std::cout << "\n";
}

}  // namespace hc::ctl

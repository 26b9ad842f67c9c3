// ctl/api_client: synchronous management calls (see api_client.hpp).
#include "ctl/api_client.hpp"

#include "net/clock.hpp"
#include "net/spawn.hpp"
#include "net/ws_client.hpp"
#include "proto/encoding.hpp"
#include "proto/hc_address.hpp"
#include "proto/sas.hpp"

#include <boost/json.hpp>
#include <chrono>

namespace hc::ctl {

api_client::api_client(proto::connection_string cs, net::tls_context tls, bool plaintext,
                       std::string admin_address)
    : cs_(std::move(cs)),
      tls_(std::move(tls)),
      plaintext_(plaintext),
      admin_address_(std::move(admin_address)) {
  if (cs_.key.empty())
    throw api_failure(
        "the connection string has no SharedAccessKeyName/SharedAccessKey: hcctl needs a Manage key");
}

api_response api_client::call(const std::string& method, const std::string& path, const std::string& body) {
  auto expiry = net::unix_now() + std::chrono::seconds(std::chrono::hours(1)).count();
  net::http_call request;
  request.method = method;
  request.url = std::string(plaintext_ ? "http://" : "https://") +
                (admin_address_.empty() ? cs_.authority() : admin_address_) +
                std::string(proto::admin_path_prefix) + path;
  request.tls = tls_;
  request.headers = {{"Authorization", proto::make_sas_token("http://" + proto::to_lower(cs_.host) + "/",
                                                             cs_.key_name, cs_.key, expiry)},
                     {"Accept", "application/json"}};
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = body;

  auto result = net::run_sync(net::call_http(std::move(request)));
  if (!result.response) throw api_failure(result.error);
  api_response out;
  out.status = result.response->status;
  out.raw = result.response->body;
  if (!out.raw.empty()) {
    boost::system::error_code ec;
    out.body = boost::json::parse(out.raw, ec);
    if (ec) out.body = nullptr;
  }
  if (out.status < 200 || out.status > 299) {
    std::string message = out.raw.empty() ? result.response->reason : out.raw;
    if (out.body.is_object() && out.body.as_object().contains("error")) {
      const auto& err = out.body.at("error");
      if (err.is_object() && err.as_object().contains("message"))
        message = boost::json::value_to<std::string>(err.at("message"));
    }
    throw api_failure("relay refused (" + std::to_string(out.status) + "): " + message,
                      out.status == 404 ? util::exit_code::not_found : util::exit_code::failed);
  }
  return out;
}

const std::string& api_client::namespace_name() {
  if (namespace_.empty()) {
    auto r = call("GET", "/api/v1/namespaces");
    if (!r.body.is_array() || r.body.as_array().empty())
      throw api_failure("the relay serves no namespace at " + cs_.host);
    // A relay administrator sees every namespace: take the one served at this host.
    const auto& list = r.body.as_array();
    const boost::json::value* mine = &list.front();
    for (const auto& ns : list)
      if (ns.is_object() && ns.as_object().contains("host") &&
          proto::iequals(boost::json::value_to<std::string>(ns.at("host")), cs_.host))
        mine = &ns;
    namespace_ = boost::json::value_to<std::string>(mine->at("name"));
  }
  return namespace_;
}

std::string api_client::hc_path(const std::string& name) {
  std::string p = "/api/v1/namespaces/" + proto::percent_encode(namespace_name()) + "/hybridConnections";
  if (!name.empty()) {
    std::string encoded = proto::percent_encode(name);  // the relay validates the name itself
    for (auto at = encoded.find("%2F"); at != std::string::npos; at = encoded.find("%2F", at))
      encoded.replace(at, 3, "/");
    p += "/" + encoded;
  }
  return p;
}

std::string segment(std::string_view text) {
  return proto::percent_encode(text);
}

}  // namespace hc::ctl

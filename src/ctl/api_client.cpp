// ctl/api_client: synchronous management calls (see api_client.hpp).
#include "ctl/api_client.hpp"

#include "net/management_call.hpp"
#include "net/spawn.hpp"
#include "proto/encoding.hpp"

#include <boost/json.hpp>

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
  net::management_target target{admin_address_.empty() ? cs_.authority() : admin_address_,
                                plaintext_,
                                cs_.host,
                                cs_.key_name,
                                cs_.key,
                                tls_};
  auto reply = net::run_sync(net::call_management(target, method, path, body));
  if (!reply.ok())
    throw api_failure(reply.error,
                      reply.status == 404 ? util::exit_code::not_found : util::exit_code::failed);
  return {reply.status, std::move(reply.body), std::move(reply.raw)};
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

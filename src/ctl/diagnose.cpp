// ctl/diagnose: the diagnose walk (see diagnose.hpp). Each step prints one line
// ("ok", "warn" or "FAIL"), and on trouble a "fix:" line; -o json prints the same as an array.
#include "ctl/diagnose.hpp"

#include "ctl/options.hpp"
#include "net/egress_proxy.hpp"
#include "net/relay_client.hpp"
#include "net/spawn.hpp"
#include "proto/encoding.hpp"
#include "proto/endpoint.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>

namespace hc::ctl {
namespace json = boost::json;
namespace {

enum class verdict { ok, warn, fail };

class report {
 public:
  explicit report(bool as_json) : json_(as_json) {}
  void add(std::string step, verdict v, std::string detail, std::string fix = {}) {
    static constexpr const char* names[] = {"ok", "warn", "FAIL"};
    if (v == verdict::fail) failed_ = true;
    if (json_) {
      json::object o{
          {"hybridConnection", subject_}, {"step", step}, {"result", names[int(v)]}, {"detail", detail}};
      if (!fix.empty()) o["fix"] = fix;
      steps_.push_back(std::move(o));
      return;
    }
    std::cout << "[" << names[int(v)] << "] " << step << ": " << detail << "\n";
    if (!fix.empty()) std::cout << "       fix: " << fix << "\n";
  }
  bool failed() const { return failed_; }
  void set_subject(std::string s) { subject_ = std::move(s); }
  void finish() {
    if (json_) print_json(steps_);
  }

 private:
  bool json_;
  bool failed_ = false;
  std::string subject_;  // NAMESPACE/NAME the current steps are about
  json::array steps_;
};

std::string field(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  const auto* f = v.as_object().if_contains(key);
  if (!f || f->is_null()) return {};
  return f->is_string() ? std::string(f->as_string()) : json::serialize(*f);
}

// Turns hcm's reject reason into the cause a person can act on.
std::pair<std::string, std::string> explain_reject(const std::string& reason, const std::string& endpoint) {
  auto has = [&](std::string_view s) { return proto::to_lower(reason).find(s) != std::string::npos; };
  if (has("not found") || has("resolve") || has("name or service"))
    return {"the endpoint name does not resolve on the hcm host",
            "make " + endpoint +
                " resolvable on the hcm machine (DNS or /etc/hosts there), or fix the endpoint name"};
  if (has("refused"))
    return {"nothing accepts connections at the endpoint (connection refused)",
            "start the service on " + endpoint + " or correct the port in the hybrid connection's endpoint"};
  if (has("timed out") || has("timeout") || has("unreachable") || has("no route"))
    return {"hcm has no route to the endpoint (timed out)",
            "check firewalls and routing between the hcm host and " + endpoint};
  return {"hcm refused the connection",
          "read the reason above and hcm's log (`hcm logs`) on the listener host"};
}

struct probe_result {
  int status = 0;
  std::string reason;
  std::string error;
  double connect_ms = 0;
  std::optional<double> first_byte_ms;
};

net::task<probe_result> probe(net::relay_client client) {
  using namespace net::asio::experimental::awaitable_operators;
  probe_result r;
  auto t0 = std::chrono::steady_clock::now();
  auto dialed = co_await client.connect();
  r.connect_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  r.status = dialed.status;
  r.reason = dialed.reason;
  r.error = dialed.error;
  if (!dialed) co_return r;
  auto& ws = *dialed.connection;
  auto ex = co_await net::asio::this_coro::executor;
  net::asio::steady_timer wait(ex, std::chrono::seconds(1));
  auto first = co_await (ws.read_header() || wait.async_wait(net::use_tuple));
  if (first.index() == 0 && !std::get<0>(first).first && !proto::is_control(std::get<0>(first).second.op))
    r.first_byte_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  co_await ws.write_close(1000, "hcctl diagnose");
  ws.stream().close();
  co_return r;
}

// One hybrid connection's checks after the relay and key passed; true when a tunnel reached
// the endpoint.
bool diagnose_hybrid_connection(options& opts, report& out, const std::string& ns, const std::string& name) {
  auto& api = opts.client();
  const auto& cs = api.connection();
  std::string path = "/api/v1/namespaces/" + proto::percent_encode(ns) + "/hybridConnections/" + name;
  json::value hc;
  try {
    hc = api.call("GET", path).body;
    out.add("hybrid connection", verdict::ok, "'" + name + "' exists in namespace '" + ns + "'");
  } catch (const api_failure& e) {
    out.add("hybrid connection", verdict::fail, e.what(),
            "create it (hcctl hc create " + name +
                " --endpoint HOST:PORT) or check the name with `hcctl hc list`");
    return false;
  }
  if (field(hc, "requiresClientAuthorization") != "true")
    out.add("client authorization", verdict::warn, "senders may connect without a token",
            "App Service requires client authorization; recreate it without --no-client-authorization");

  auto endpoint = field(hc, "endpoint");
  if (endpoint.empty()) {
    out.add("endpoint", verdict::fail, "the hybrid connection has no endpoint in its user metadata",
            "recreate it with --endpoint HOST:PORT (userMetadata "
            "[{\"key\":\"endpoint\",\"value\":\"HOST:PORT\"}])");
  } else if (auto ep = proto::parse_endpoint(endpoint);
             ep && !proto::endpoint_host_warning(ep->host).empty()) {
    out.add("endpoint", verdict::warn, endpoint + ": " + proto::endpoint_host_warning(ep->host),
            "use the service's DNS name as the endpoint host");
  } else {
    out.add("endpoint", verdict::ok, endpoint + " (a DNS name)");
  }

  const auto* listeners = hc.as_object().if_contains("listeners");
  std::size_t count = listeners && listeners->is_array() ? listeners->as_array().size() : 0;
  if (count == 0) {
    out.add("listeners", verdict::fail, "no hcm is connected to '" + name + "'",
            "on a host in the private network run: hcm add \"$(hcctl hc connection-string " + name +
                " --rule defaultListener)\" and make sure `hcm run` is running there");
    return false;
  }
  std::string who;
  for (const auto& l : listeners->as_array())
    who += (who.empty() ? "" : "; ") + field(l, "id") + " from " + field(l, "remoteAddress") + " since " +
           field(l, "connectedSince");
  out.add("listeners", verdict::ok, std::to_string(count) + " connected: " + who);

  auto keys = api.call("POST", path + "/authorizationRules/defaultSender/listKeys").body;
  auto sender = proto::parse_connection_string(field(keys, "primaryConnectionString"));
  if (!sender) {
    out.add("probe", verdict::fail, "no usable defaultSender rule to probe with",
            "recreate the hybrid connection");
    return false;
  }
  if (ns == api.namespace_name()) {  // reach it the way this connection string reaches the relay
    sender->host = cs.host;
    sender->port = cs.port;
  }
  auto tls =
      opts.insecure_plaintext ? net::tls_context{} : net::make_client_tls(net::ca_file_from(opts.ca_file));
  auto r = net::run_sync(probe(net::relay_client(*sender, tls, opts.insecure_plaintext)));
  char ms[64];
  std::snprintf(ms, sizeof ms, "%.1f ms", r.connect_ms);
  if (r.status == 101) {
    std::string detail = "a tunnel reached " + endpoint + " in " + ms;
    if (r.first_byte_ms) {
      char fb[64];
      std::snprintf(fb, sizeof fb, "%.1f ms", *r.first_byte_ms);
      detail += ", first byte from the endpoint after " + std::string(fb);
    } else {
      detail += "; the endpoint sent nothing within 1 s (normal when the client speaks first)";
    }
    out.add("probe", verdict::ok, detail);
  } else if (r.status == 0) {
    out.add("probe", verdict::fail, r.error, "check the relay's log; the sender connection did not complete");
  } else if (r.status == 404) {
    out.add("probe", verdict::fail, "the relay found no listener: " + r.reason,
            "start hcm (`hcm run`) on the listener host");
  } else if (r.status == 504) {
    out.add("probe", verdict::fail, "the listener did not answer within 30 s",
            "the hcm process may be stalled or unable to reach the relay's rendezvous address; restart it "
            "and read `hcm logs`");
  } else {
    auto [cause, fix] = explain_reject(r.reason, endpoint);
    out.add("probe", verdict::fail, cause + " (" + std::to_string(r.status) + " " + r.reason + ")", fix);
  }
  return !out.failed();
}

}  // namespace

void add_diagnose_command(CLI::App& app, options& opts) {
  struct args {
    std::string target;
    std::string app;
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand("diagnose", "Walk the path of a hybrid connection and say what fails")
                  ->fallthrough();
  cmd->add_option("TARGET", a->target, "NAMESPACE/NAME or NAME (in the connection string's namespace)");
  cmd->add_option("--app", a->app, "Diagnose every hybrid connection of this app");
  cmd->callback([&opts, a] {
    if (a->target.empty() == a->app.empty()) throw api_failure("diagnose: give NAMESPACE/NAME or --app APP");
    report out(opts.json());
    auto stop = [&](const std::string& why) {
      out.finish();
      throw api_failure("diagnose: " + why);
    };
    auto& api = opts.client();
    const auto& cs = api.connection();
    auto health = [&]() -> bool {
      try {
        api.call("GET", "/healthz");
        out.add("relay", verdict::ok, "reachable at " + cs.authority() + " with a valid TLS certificate");
        return true;
      } catch (const api_failure& e) {
        std::string what = e.what();
        bool tls = what.find("TLS") != std::string::npos;
        out.add(
            "relay", verdict::fail, what,
            tls ? "trust the relay's CA: --ca-file PEM or HCRELAY_CA_FILE (hcrelay --dev-tls writes "
                  "DATA_DIR/tls/ca.pem)"
                : "check the Endpoint host and port in the connection string, and that hcrelay is running");
        return false;
      }
    };
    bool tls = !opts.insecure_plaintext;
    if (auto proxy = net::proxy_for(cs.host, tls)) {
      auto hop = net::run_sync(net::check_egress(cs.host, cs.port, tls, std::chrono::seconds(10)));
      if (!hop.error.empty()) {
        out.add(
            "proxy", verdict::fail, hop.error,
            "check the proxy (--proxy, or https_proxy/all_proxy and no_proxy in the environment), its user "
            "and --proxy-password-file, and that it allows CONNECT to " +
                cs.authority());
        stop("the proxy does not reach the relay");
      }
      out.add("proxy", verdict::ok,
              proxy->label() + " (from " + proxy->source + ") opens a connection to " + cs.authority() +
                  (proxy->user.empty() ? "" : " as user '" + proxy->user + "'"));
    }
    if (!health()) stop("the relay cannot be reached");

    try {
      api.namespace_name();
      out.add("key", verdict::ok,
              "rule '" + cs.key_name + "' is accepted by namespace '" + api.namespace_name() + "'");
    } catch (const api_failure& e) {
      out.add("key", verdict::fail, e.what(),
              "use a current Manage key of this namespace (a regenerated key invalidates the old one) and "
              "check this "
              "machine's clock");
      stop("the key is not accepted");
    }

    std::vector<std::pair<std::string, std::string>> targets;
    if (!a->app.empty()) {
      auto links =
          api.call("GET", "/api/v1/apps/" + proto::percent_encode(a->app) + "/hybridConnections").body;
      if (links.is_array())
        for (const auto& l : links.as_array()) targets.emplace_back(field(l, "namespace"), field(l, "name"));
      if (targets.empty()) {
        out.add("app", verdict::fail, "app '" + a->app + "' uses no hybrid connection",
                "add one: hcctl app hc add " + a->app + " NAMESPACE/NAME (or app hc create)");
        stop("the app has no hybrid connection");
      }
    } else {
      auto slash = a->target.find('/');
      targets.emplace_back(slash == std::string::npos ? api.namespace_name() : a->target.substr(0, slash),
                           slash == std::string::npos ? a->target : a->target.substr(slash + 1));
    }
    for (const auto& [ns, name] : targets) {
      if (targets.size() > 1 && !opts.json()) std::cout << "== " << ns << "/" << name << "\n";
      out.set_subject(ns + "/" + name);
      diagnose_hybrid_connection(opts, out, ns, name);
    }
    out.finish();
    if (out.failed()) throw api_failure("diagnose: the hybrid connection does not work end to end");
  });
}

}  // namespace hc::ctl

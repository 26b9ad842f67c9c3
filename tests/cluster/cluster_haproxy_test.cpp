// Three relay nodes behind a real HAProxy (deploy/haproxy/hcrelay.cfg.in: TCP, TLS passed through,
// PROXY v2 headers, /healthz checks), every client on HAProxy's port as users would configure it:
// Microsoft's hyco-ws listener and senders (the accept addresses name the sender's node, on its
// own port), two hcm services pinned to different nodes sharing one hybrid connection's traffic,
// and clients behind HAProxy counted and named by their own addresses.
#include "../integration/hcm_support.hpp"
#include "../integration/raw_client.hpp"
#include "cluster_support.hpp"
#include "haproxy_server.hpp"

#include <boost/asio/read.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>

namespace hc::test {
namespace {

std::string endpoint_body(std::uint16_t port) {
  return R"({"endpoint":"localhost:)" + std::to_string(port) + "\"}";
}

// One line through the app side of a tunnel (a new tunnel) and its echo; false when any step fails.
task<bool> echo_once(std::uint16_t app_port, std::string line) {
  auto c = co_await net::connect_tcp("127.0.0.1", app_port);
  if (c.first) co_return false;
  auto [wec, wn] = co_await asio::async_write(c.second, asio::buffer(line), net::use_tuple);
  if (wec) co_return false;
  std::string back(line.size(), '\0');
  auto [rec, rn] = co_await asio::async_read(c.second, asio::buffer(back), net::use_tuple);
  co_return !rec && back == line;
}

class ClusterBehindHAProxy : public cluster_test {
 protected:
  // `count` nodes on ports of their own (each with `extra` flags), HAProxy in front; connection
  // strings name HAProxy, and the nodes believe PROXY headers from HAProxy's source address.
  void start_cluster(int count = 3, const std::vector<std::string>& extra = {}) {
    front = pick_free_loopback_port();
    for (int i = 0; i < count; ++i) {
      auto port = std::to_string(node_ports.emplace_back(pick_free_loopback_port()));
      std::vector<std::string> flags{
          "--listen", "127.0.0.1:" + port, "--public-port", std::to_string(front), "--advertise",
          port,       "--proxy-protocol",  haproxy_source};
      flags.insert(flags.end(), extra.begin(), extra.end());
      start_node("node" + std::to_string(i + 1), flags);
    }
    proxy.emplace(dir_.path() / "haproxy", front, node_ports);
  }

  // A Node.js child with Microsoft's SDK that trusts the cluster's development CA.
  child_process node_script(const std::string& name, const std::string& script,
                            std::vector<std::string> args) {
    args.insert(args.begin(), std::string(HC_SOURCE_DIR) + "/tests/interop/lib/" + script);
    return child_process("/usr/bin/node", args, dir_.path() / (name + ".log"),
                         {{"NODE_EXTRA_CA_CERTS", nodes.front().ca_file().string()},
                          {"NODE_PATH", std::string(HC_SOURCE_DIR) + "/tests/node/node_modules"}});
  }

  // Accepts and requests the nodes sent to another node's listener, summed over the nodes.
  int forwarded_count() {
    int forwarded = 0;
    for (auto port : node_ports) {
      auto metrics = hcm::sync(get_page(nodes.front(), "/metrics", port)).body;
      const std::string sent = "hcrelay_cluster_accepts_total{direction=\"sent\"} ";
      auto at = metrics.find(sent);
      if (at != std::string::npos) forwarded += std::atoi(metrics.c_str() + at + sent.size());
    }
    return forwarded;
  }

  std::uint16_t front = 0;
  std::vector<std::uint16_t> node_ports;
  std::optional<haproxy_server> proxy;
};

TEST_F(ClusterBehindHAProxy, HycoWsListenerAndSendersThroughHAProxy) {
  start_cluster();
  auto& any = nodes.front();  // its connection string names HAProxy
  auto hc = hcm::sync(ready_hc("echo"));
  const std::string base = "wss://localhost:" + std::to_string(front) + "/$hc/echo";
  const std::string token_uri = "http://localhost:" + std::to_string(front) + "/echo";
  auto listener = node_script("listener", "hyco_echo_listener.cjs",
                              {base + "?sb-hc-action=listen", token_uri, "defaultListener", hc.listen_key});
  ASSERT_TRUE(wait_until(
      [&] { return listener.log().find("ready") != std::string::npos || !listener.running(); }, 30s))
      << listener.log();
  ASSERT_TRUE(listener.running()) << listener.log();

  auto messages = dir_.path() / "messages.json";
  std::ofstream(messages) << R"([{"type":"text","base64":"aGVsbG8gdGhyb3VnaCB0aGUgY2x1c3Rlcg=="},)"
                          << R"({"type":"binary","base64":"AAECAwQFBgcICQ=="}])";
  // Least connections: the listener's node has one more connection than the others, so senders
  // land on other nodes and their accepts cross the cluster.
  for (int i = 0; i < 3; ++i) {
    auto sender = node_script("sender" + std::to_string(i), "hyco_sender.cjs",
                              {base + "?sb-hc-action=connect", token_uri, "defaultSender", hc.send_key,
                               messages.string(), "30000"});
    ASSERT_TRUE(sender.wait_exit(45s)) << sender.log();
    auto out = sender.log();
    EXPECT_EQ(sender.exit_status(), 0) << out << "\nlistener:\n" << listener.log();
    EXPECT_NE(out.find(R"({"type":"text","base64":"aGVsbG8gdGhyb3VnaCB0aGUgY2x1c3Rlcg=="})"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(R"({"type":"binary","base64":"AAECAwQFBgcICQ=="})"), std::string::npos) << out;
    EXPECT_NE(out.find(R"({"event":"close","code":1000,"reason":"done"})"), std::string::npos) << out;
  }
  // At least one sender landed on another node than the listener: its accept crossed the cluster.
  EXPECT_GE(forwarded_count(), 1) << "no accept crossed nodes: the test did not test the cluster";
}

TEST_F(ClusterBehindHAProxy, TwoHcmOnDifferentNodesShareTheTraffic) {
  start_cluster();
  hcm::tcp_echo_server endpoint;
  auto& any = nodes.front();
  auto hc = hcm::sync(ready_hc("shared", endpoint_body(endpoint.port())));
  auto pinned = [&](std::uint16_t port) {
    return "Endpoint=sb://localhost:" + std::to_string(port) +
           "/;SharedAccessKeyName=defaultListener;SharedAccessKey=" + hc.listen_key + ";EntityPath=shared";
  };
  hcm::hcm_instance one(dir_.path() / "hcm-one", any.ca_file());
  hcm::hcm_instance two(dir_.path() / "hcm-two", any.ca_file());
  auto added_one = one.cli("add " + hcm::quote(pinned(node_ports[0])));
  ASSERT_EQ(added_one.rc, 0) << added_one.output;
  auto added_two = two.cli("add " + hcm::quote(pinned(node_ports[1])));
  ASSERT_EQ(added_two.rc, 0) << added_two.output;
  one.start();
  two.start();
  ASSERT_TRUE(one.wait_status("localhost", "shared", "Connected")) << one.log();
  ASSERT_TRUE(two.wait_status("localhost", "shared", "Connected")) << two.log();

  // The app side connects through HAProxy.
  hcm::sender_forwarder app(hc_connection_string(any, "shared", "defaultSender", hc.send_key), any.tls());
  constexpr int tunnels = 20;
  run([&]() -> task<> {
    for (int i = 0; i < tunnels; ++i) {
      bool echoed = co_await echo_once(app.port(), "ping " + std::to_string(i) + "\n");
      EXPECT_TRUE(echoed) << "tunnel " << i;
    }
  });
  EXPECT_EQ(app.failed(), 0);
  std::int64_t through_one = 0, through_two = 0;  // hcm writes its status every second or so
  EXPECT_TRUE(wait_until(
      [&] {
        through_one = one.number("localhost", "shared", "TunnelsTotal");
        through_two = two.number("localhost", "shared", "TunnelsTotal");
        return through_one + through_two == tunnels;
      },
      10s))
      << through_one << " + " << through_two;
  EXPECT_GT(through_one, 0) << "hcm on node 1 carried none of the tunnels";
  EXPECT_GT(through_two, 0) << "hcm on node 2 carried none of the tunnels";
}

// hcm connects through HAProxy; the node it landed on is killed. hcm reconnects through HAProxy to
// a live node and new tunnels work again (the time it took is printed; bench/ holds targets).
TEST_F(ClusterBehindHAProxy, HcmReHomesWhenItsNodeIsKilled) {
  start_cluster();
  hcm::tcp_echo_server endpoint;
  auto& any = nodes.front();
  auto hc = hcm::sync(ready_hc("rehome", endpoint_body(endpoint.port())));
  hcm::hcm_instance agent(dir_.path() / "hcm", any.ca_file());
  auto added =
      agent.cli("add " + hcm::quote(hc_connection_string(any, "rehome", "defaultListener", hc.listen_key)));
  ASSERT_EQ(added.rc, 0) << added.output;
  agent.start();
  ASSERT_TRUE(agent.wait_status("localhost", "rehome", "Connected")) << agent.log();
  hcm::sender_forwarder app(hc_connection_string(any, "rehome", "defaultSender", hc.send_key), any.tls());
  run([&]() -> task<> {
    bool echoed = co_await echo_once(app.port(), "before\n");
    EXPECT_TRUE(echoed);
  });

  // The node that holds hcm's listener: Redis names it, and its key holds its address.
  auto fields = redis_cli({"HKEYS", "hc:listeners:localhost/rehome"});
  auto node_id = fields.substr(0, fields.find('|'));
  auto address = redis_cli({"GET", "hc:node:" + node_id});
  auto port = std::atoi(address.substr(address.rfind(':') + 1).c_str());
  auto held = std::find(node_ports.begin(), node_ports.end(), port);
  ASSERT_NE(held, node_ports.end()) << "no node at " << address << " (" << fields << ")";
  auto& victim = nodes[held - node_ports.begin()];
  ::kill(victim.process().pid(), SIGKILL);
  killed.push_back(&victim);
  auto killed_at = std::chrono::steady_clock::now();

  run(
      [&]() -> task<> {
        int attempts = 0;
        bool back = false;
        while (!back && std::chrono::steady_clock::now() - killed_at < 20s) {
          ++attempts;
          back = co_await echo_once(app.port(), "after " + std::to_string(attempts) + "\n");
          if (!back) co_await pause_for(100ms);
        }
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                          killed_at);
        require(back, "no tunnel worked within 20 s of the kill; hcm log:\n" + last_lines(agent.log()));
        std::printf("[ cluster  ] first tunnel after the kill: %lld ms, %d attempts\n",
                    (long long)took.count(), attempts);
        for (int i = 0; i < 5; ++i) {
          bool echoed = co_await echo_once(app.port(), "steady " + std::to_string(i) + "\n");
          EXPECT_TRUE(echoed) << "tunnel " << i << " after hcm re-homed";
        }
      },
      40s);
}

// Clients behind HAProxy are themselves to the node (PROXY v2 from HAProxy's source address): a
// sender from 127.0.0.4 is 127.0.0.4 in the listener's accept, and the per-source cap counts each
// client: 127.0.0.3 at its cap is closed while 127.0.0.4 is still served. Without the header every
// client would be HAProxy's one address, sharing one cap and one remoteEndpoint.
TEST_F(ClusterBehindHAProxy, TheNodeCountsAndNamesEachClientBehindHAProxy) {
  start_cluster(1, {"--max-connections-per-source", "3"});
  auto& node = nodes.front();
  auto hc = hcm::sync(ready_hc("who"));
  run([&]() -> task<> {
    std::vector<net::byte_stream> held;
    for (int i = 0; i < 3; ++i) {
      auto stream = co_await raw::connect_from(node, "127.0.0.3", front);
      require(stream.has_value(), "connection " + std::to_string(i + 1) + " from 127.0.0.3 failed");
      held.push_back(std::move(*stream));
    }
    auto over = co_await raw::connect_from(node, "127.0.0.3", front);
    EXPECT_FALSE(over.has_value()) << "a fourth connection from 127.0.0.3 was served past its cap of 3";

    auto control = co_await connect_listener(node, hc.name, hc.listen_token);
    auto sender = co_await raw::connect_from(node, "127.0.0.4", front);
    require(sender.has_value(), "127.0.0.4 was refused while 127.0.0.3 was at its cap");
    co_await raw::send(*sender, raw::upgrade(node, raw::connect_target(hc.name),
                                             "ServiceBusAuthorization: " + hc.send_token + "\r\n"));
    auto accept = co_await read_accept(control);
    require(accept.remote.has_value(), "the accept has no remoteEndpoint");
    EXPECT_EQ(accept.remote->address, "127.0.0.4");
    EXPECT_NE(accept.remote->port, 0);
    sender->close();
    for (auto& stream : held) stream.close();
  });
  auto log = node.process().log();
  EXPECT_NE(log.find("closing new connections from 127.0.0.3"), std::string::npos) << last_lines(log);
  EXPECT_EQ(log.find("closing new connections from 127.0.0.2"), std::string::npos) << last_lines(log);
}

// HTTP mode in a cluster: Microsoft's hyco-https listener holds one node; requests sent straight
// to every node (small ones, and a 200 KB POST that goes over the request rendezvous) reach it:
// a request for another node's listener crosses as address and id, and the listener fetches it
// from the caller's node.
TEST_F(ClusterBehindHAProxy, HttpRequestsAtEveryNodeReachAnHycoHttpsListenerOnOne) {
  start_cluster();
  auto hc = hcm::sync(ready_hc("web"));
  const std::string token_uri = "http://localhost:" + std::to_string(front) + "/web";
  auto listener = node_script("listener", "hyco_https_listener.cjs",
                              {"wss://localhost:" + std::to_string(front) + "/$hc/web?sb-hc-action=listen",
                               token_uri, "defaultListener", hc.listen_key});
  ASSERT_TRUE(wait_until(
      [&] { return listener.log().find("ready") != std::string::npos || !listener.running(); }, 30s))
      << listener.log();
  std::string upload(200 * 1024, '\0');
  for (std::size_t i = 0; i < upload.size(); ++i) upload[i] = char(i * 7 + (i >> 9));
  for (std::size_t n = 0; n < node_ports.size(); ++n) {
    for (bool large : {false, true}) {
      net::http_call call;
      call.method = large ? "POST" : "GET";
      call.url = "https://localhost:" + std::to_string(node_ports[n]) + "/web/echo/node" + std::to_string(n);
      call.headers = {{"ServiceBusAuthorization", hc.send_token}};
      if (large) call.body = upload;
      call.tls = nodes.front().tls();
      call.timeout = 20s;
      auto r = hcm::sync(net::call_http(std::move(call)));
      ASSERT_TRUE(r.response) << r.error;
      EXPECT_EQ(r.response->status, 200) << "node " << n << ": " << r.response->body << "\nlistener:\n"
                                         << listener.log();
      EXPECT_NE(r.response->body.find("\"url\":\"/web/echo/node" + std::to_string(n) + "\""),
                std::string::npos)
          << r.response->body;
      EXPECT_NE(r.response->body.find("\"length\":" + std::to_string(large ? upload.size() : 0)),
                std::string::npos)
          << r.response->body;
    }
  }
  EXPECT_GE(forwarded_count(), 4)
      << "requests at the two nodes without the listener did not cross the cluster";
}

}  // namespace
}  // namespace hc::test

// tests/integration/json_logs_test: --log-format json as a log pipeline reads it. Every line the
// relay and hcm write is one JSON object; the lines about a tunnel carry its tracking id,
// namespace, hybrid connection and listener id as fields of their own, the same tracking id in
// both programs, so one connection can be followed without parsing message text.
#include "hcm_support.hpp"

#include <boost/json.hpp>

#include <sstream>

namespace hc::test {
namespace {
using namespace hcm;

// Every line of `log` parsed; a line that is not a JSON object fails the test.
std::vector<boost::json::object> json_lines(const std::string& log, const std::string& who) {
  std::vector<boost::json::object> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    auto value = boost::json::parse(line, ec);
    EXPECT_TRUE(!ec && value.is_object()) << who << " wrote a line that is not a JSON object: " << line;
    if (!ec && value.is_object()) out.push_back(value.as_object());
  }
  return out;
}

std::string field(const boost::json::object& line, std::string_view name) {
  auto* v = line.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The first line whose message starts with `prefix`, or an empty object.
boost::json::object first(const std::vector<boost::json::object>& lines, std::string_view prefix) {
  for (const auto& l : lines)
    if (field(l, "msg").starts_with(prefix)) return l;
  return {};
}

class json_logs : public hcm_fixture {};

TEST_F(json_logs, ATunnelsLinesCarryItsIdsAsFieldsInTheRelayAndInHcm) {
  relay_.emplace(dir_.path() / "json-relay", std::vector<std::string>{"--log-format", "json"});
  tcp_echo_server echo;
  auto hc = make("orders", echo.port());
  auto h = make_hcm("hcm");
  add(h, hc);
  h.start({"--log-format", "json"});
  ASSERT_TRUE(h.wait_status("localhost", "orders", "Connected")) << h.log();
  {
    sender_forwarder app(send_string(hc), relay().tls());
    asio::io_context io;
    net::tcp::socket s(io);
    s.connect({asio::ip::address_v4::loopback(), app.port()});
    std::string line = "ping\n", back(5, '\0');
    asio::write(s, asio::buffer(line));
    asio::read(s, asio::buffer(back));
    EXPECT_EQ(back, line);
  }
  ASSERT_TRUE(
      wait_until([&] { return relay().process().log().find("tunnel closed") != std::string::npos; }, 10s))
      << relay().process().log();
  ASSERT_TRUE(wait_until([&] { return h.log().find("\"tunnel ") != std::string::npos; }, 10s)) << h.log();

  auto relay_lines = json_lines(relay().process().log(), "hcrelay");
  auto hcm_lines = json_lines(h.log(), "hcm");
  for (std::string message : {"listener connected", "tunnel open", "tunnel closed"}) {
    auto l = first(relay_lines, message);
    ASSERT_FALSE(l.empty()) << "no \"" << message << "\" line:\n" << relay().process().log();
    EXPECT_FALSE(field(l, "tracking_id").empty()) << message;
    EXPECT_EQ(field(l, "namespace"), "localhost") << message;
    EXPECT_EQ(field(l, "hybrid_connection"), "orders") << message;
    EXPECT_FALSE(field(l, "listener_id").empty()) << message;
  }
  auto opened = first(relay_lines, "tunnel open");
  std::string hcm_listener;  // `hcm add` checks the key with a listener of its own first
  for (const auto& l : relay_lines)
    if (field(l, "msg").starts_with("listener connected") &&
        field(l, "msg").find("agent=\"hcm/") != std::string::npos)
      hcm_listener = field(l, "listener_id");
  EXPECT_EQ(field(opened, "listener_id"), hcm_listener);
  auto carried = first(hcm_lines, "tunnel ");
  ASSERT_FALSE(carried.empty()) << h.log();
  EXPECT_EQ(field(carried, "tracking_id"), field(opened, "tracking_id"))
      << "hcm and the relay name the same connection differently";
  EXPECT_EQ(field(carried, "hybrid_connection"), "orders");
  EXPECT_EQ(field(carried, "namespace"), "localhost");
}

}  // namespace
}  // namespace hc::test

// tests/unit/net_pump_test: every way a tunnel ends, for both pumps of net/pump.hpp, on in-memory
// streams (memory_stream.hpp): relay_tunnel (two server-role WebSocket legs) and splice (a
// client-role WebSocket leg and a TCP connection). Each test asserts how each direction ended,
// the close codes and bytes the far sides saw, FIN versus RST, and the byte counters. The tests
// drive the tunnel step by step (settle: run what is ready) and end within a deadline of seconds;
// most take a millisecond.
#include "memory_stream.hpp"
#include "net/limits.hpp"
#include "net/pump.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>

#include <algorithm>
#include <optional>

namespace hc::net {
namespace {
using namespace std::chrono_literals;
using namespace in_memory;
using proto::opcode;

const std::string lost_reason = "the other side of the tunnel disconnected";
const std::string protocol_reason = "WebSocket protocol error";

std::string_view opcode_name(opcode op) {
  switch (op) {
    case opcode::continuation:
      return "cont";
    case opcode::text:
      return "text";
    case opcode::binary:
      return "binary";
    case opcode::close:
      return "close";
    case opcode::ping:
      return "ping";
    case opcode::pong:
      return "pong";
  }
  return "?";
}

// "text:hello | close:1000 bye": each frame's opcode, "(more)" without FIN, then its payload (a
// Close's code and reason; a payload over 32 bytes as its size).
std::string describe(const std::vector<seen_frame>& frames) {
  std::string out;
  for (const auto& f : frames) {
    if (!out.empty()) out += " | ";
    out += opcode_name(f.op);
    if (!f.fin) out += "(more)";
    out += ":";
    if (f.op == opcode::close) {
      auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(f.payload.data()), f.payload.size());
      auto info = proto::parse_close_payload(bytes);
      out += info ? std::to_string(info->code) + " " + info->reason : "(bad close payload)";
    } else if (f.payload.size() > 32) {
      out += "<" + std::to_string(f.payload.size()) + " bytes>";
    } else {
      out += f.payload;
    }
  }
  return out;
}

// A payload whose bytes depend on their position, so a reordered or dropped piece shows.
std::string patterned(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = char('a' + i % 23);
  return s;
}

// Runs one tunnel coroutine on the test's io_context and drives it.
class tunnel_driver {
 public:
  explicit tunnel_driver(asio::io_context& io) : io_(io) {}

  void start(task<tunnel_result> tunnel) {
    asio::co_spawn(io_, std::move(tunnel), [this](std::exception_ptr e, tunnel_result r) {
      failure_ = e;
      result_ = r;
    });
    settle();
  }
  // Runs everything that is ready, until the tunnel waits on its peers again.
  void settle() {
    io_.restart();
    io_.poll();
  }
  bool done() const { return result_.has_value(); }
  // Runs for `d` of real time (timers fire), then returns whatever the tunnel is doing.
  void run_for(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }
  // Runs until the tunnel returns (at most `limit`); fails the test if it does not.
  tunnel_result finish(std::chrono::milliseconds limit = 3000ms) {
    auto until = std::chrono::steady_clock::now() + limit;
    io_.restart();
    while (!result_ && std::chrono::steady_clock::now() < until) io_.run_one_until(until);
    EXPECT_TRUE(result_.has_value()) << "the tunnel did not end within " << limit.count() << " ms";
    EXPECT_FALSE(failure_) << "the tunnel threw";
    return result_.value_or(tunnel_result{});
  }

 private:
  asio::io_context& io_;
  std::optional<tunnel_result> result_;
  std::exception_ptr failure_;
};

// ---------------------------------------------------------------- relay_tunnel

// Both legs are server-role: their peers send masked frames and read unmasked ones.
class NetPumpRelayTunnel : public ::testing::Test {
 protected:
  ~NetPumpRelayTunnel() override {
    if (driver.done()) return;
    app_ws.stream().close();  // a tunnel that hung: let its coroutine end before the streams go
    agent_ws.stream().close();
    driver.settle();
  }

  static std::string masked(opcode op, std::string_view payload, bool fin = true) {
    return frame_bytes(op, fin, payload, true);
  }
  static std::string masked_close(std::uint16_t code, std::string_view reason = "") {
    return close_frame_bytes(code, reason, true);
  }
  static std::string frames_to(const memory_peer& peer) { return describe(frames_in(peer.received())); }

  asio::io_context io;
  memory_stream_pair app_pair = make_memory_stream(io);
  memory_stream_pair agent_pair = make_memory_stream(io);
  memory_peer& app = app_pair.peer;
  memory_peer& agent = agent_pair.peer;
  ws_connection app_ws{std::move(app_pair.stream), ws_role::server};
  ws_connection agent_ws{std::move(agent_pair.stream), ws_role::server};
  tunnel_counters counters;
  tunnel_driver driver{io};

  void start() { driver.start(relay_tunnel(app_ws, agent_ws, counters)); }

  // After `offender` broke the protocol: it got Close 1002, the other leg `to_other` ending in
  // Close 1001; the other leg's `echo` ends the tunnel.
  tunnel_result expect_protocol_error(memory_peer& offender, const std::string& to_other,
                                      std::uint16_t echo) {
    driver.settle();
    memory_peer& other = &offender == &app ? agent : app;
    EXPECT_EQ(frames_to(offender), "close:1002 " + protocol_reason);
    EXPECT_EQ(frames_to(other), to_other + "close:1001 " + lost_reason);
    other.send(masked_close(echo));
    auto r = driver.finish();
    EXPECT_EQ(&offender == &app ? r.app_to_agent : r.agent_to_app, pump_end::source_lost);
    EXPECT_EQ(r.error, proto::make_error_code(proto::errc::bad_request)) << r.error.message();
    EXPECT_EQ(frames_to(offender), "close:1002 " + protocol_reason) << "nothing follows our Close";
    return r;
  }
};

TEST_F(NetPumpRelayTunnel, BothSidesClose1000EndBothDirectionsClosedWithTheCloseForwardedUntouched) {
  app.send(masked(opcode::text, "hello"));
  app.send(masked_close(1000, "bye"));
  agent.send(masked(opcode::binary, "world"));
  agent.send(masked_close(1000));
  start();
  auto r = driver.finish();
  EXPECT_EQ(r.app_to_agent, pump_end::closed);
  EXPECT_EQ(r.agent_to_app, pump_end::closed);
  EXPECT_FALSE(r.error) << r.error.message();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(frames_to(agent), "text:hello | close:1000 bye");
  EXPECT_EQ(frames_to(app), "binary:world | close:1000 ");
  auto to_agent = frames_in(agent.received());
  ASSERT_EQ(to_agent.size(), 2u);
  EXPECT_FALSE(to_agent[1].masked);
  EXPECT_EQ(to_agent[1].payload, proto::build_close_payload(1000, "bye"));
  EXPECT_EQ(counters.app_to_agent, 5u);
  EXPECT_EQ(counters.agent_to_app, 5u);
  EXPECT_FALSE(app.stream_closed()) << "the caller closes the streams, not the tunnel";
  EXPECT_FALSE(agent.stream_closed());
}

TEST_F(NetPumpRelayTunnel, ACloseFromOneSideLeavesTheOtherDirectionFlowingUntilItsOwnClose) {
  start();
  app.send(masked_close(1000, "done sending"));
  driver.settle();
  EXPECT_EQ(frames_to(agent), "close:1000 done sending");
  EXPECT_FALSE(driver.done());
  agent.send(masked(opcode::binary, "still"));
  agent.send(masked(opcode::text, "flowing"));
  driver.settle();
  EXPECT_EQ(frames_to(app), "binary:still | text:flowing");
  EXPECT_FALSE(driver.done());
  agent.send(masked_close(1000));
  auto r = driver.finish();
  EXPECT_EQ(r.app_to_agent, pump_end::closed);
  EXPECT_EQ(r.agent_to_app, pump_end::closed);
  EXPECT_EQ(frames_to(app), "binary:still | text:flowing | close:1000 ");
  EXPECT_EQ(counters.agent_to_app, 12u);
  EXPECT_EQ(counters.app_to_agent, 0u);
}

TEST_F(NetPumpRelayTunnel, AnErrorCloseIsForwardedAndReportedClosedError) {
  start();
  app.send(masked_close(1011, "app crashed"));
  driver.settle();
  EXPECT_EQ(frames_to(agent), "close:1011 app crashed");
  agent.send(masked_close(1000));
  auto r = driver.finish();
  EXPECT_EQ(r.app_to_agent, pump_end::closed_error);
  EXPECT_EQ(r.agent_to_app, pump_end::closed);
  EXPECT_FALSE(r.error) << r.error.message();
  EXPECT_EQ(frames_to(app), "close:1000 ");
}

TEST_F(NetPumpRelayTunnel, ASourceLostWithoutCloseGivesTheOtherLegClose1001) {
  start();
  app.reset_now();
  driver.settle();
  EXPECT_EQ(frames_to(agent), "close:1001 " + lost_reason);
  EXPECT_FALSE(driver.done()) << "the other leg has close_echo_timeout to answer";
  agent.send(masked_close(1001));  // the echo finds the app leg gone
  auto r = driver.finish();
  EXPECT_EQ(r.app_to_agent, pump_end::source_lost);
  EXPECT_EQ(r.agent_to_app, pump_end::dest_lost);
  EXPECT_EQ(r.error, asio::error::connection_reset) << r.error.message();
  EXPECT_EQ(app.received(), "");
}

TEST_F(NetPumpRelayTunnel, AFailedReadEndsThatDirectionAndTheEchoStillReachesTheSource) {
  app.fail_read(1);
  start();
  EXPECT_EQ(frames_to(agent), "close:1001 " + lost_reason);
  agent.send(masked_close(1001, "echo"));
  auto r = driver.finish();
  EXPECT_EQ(r.app_to_agent, pump_end::source_lost);
  EXPECT_EQ(r.agent_to_app, pump_end::closed_error) << "1001 is not a normal close";
  EXPECT_EQ(r.error, asio::error::connection_reset) << r.error.message();
  EXPECT_EQ(frames_to(app), "close:1001 echo");
}

TEST_F(NetPumpRelayTunnel, ADestinationWriteFailureIsDestLostAndClosesBothLegs) {
  agent.fail_write(1);
  start();
  app.send(masked(opcode::binary, "data"));
  auto r = driver.finish();
  EXPECT_EQ(r.app_to_agent, pump_end::dest_lost);
  EXPECT_EQ(r.agent_to_app, pump_end::source_lost) << "its read was aborted by the close";
  EXPECT_EQ(r.error, asio::error::broken_pipe) << r.error.message();
  EXPECT_TRUE(app.saw_fin());
  EXPECT_TRUE(agent.saw_fin());
  EXPECT_EQ(app.received(), "") << "no Close fits on a leg already closed";
  EXPECT_EQ(counters.app_to_agent, 0u);
}

TEST_F(NetPumpRelayTunnel, ADestinationWriteFailureTowardsTheAppIsReportedAsTheCause) {
  app.fail_write(1);
  start();
  agent.send(masked(opcode::text, "answer"));
  auto r = driver.finish();
  EXPECT_EQ(r.agent_to_app, pump_end::dest_lost);
  EXPECT_EQ(r.app_to_agent, pump_end::source_lost) << "its read was aborted by the close";
  EXPECT_EQ(r.error, asio::error::broken_pipe) << "the cause, not the close it led to: " << r.error.message();
  EXPECT_TRUE(app.stream_closed());
  EXPECT_TRUE(agent.stream_closed());
}

TEST_F(NetPumpRelayTunnel, ASourceCutInTheMiddleOfAFrameClosesBothLegs) {
  auto whole = masked(opcode::binary, patterned(100));
  app.send(whole.substr(0, 6 + 10));  // 2 header bytes, 4 mask bytes, 10 of 100 payload bytes
  start();
  app.reset_now();
  auto r = driver.finish();
  EXPECT_EQ(r.app_to_agent, pump_end::source_lost);
  EXPECT_EQ(r.agent_to_app, pump_end::source_lost);
  EXPECT_EQ(r.error, asio::error::connection_reset) << r.error.message();
  bool cut = false;
  EXPECT_EQ(describe(frames_in(agent.received(), &cut)), "");
  EXPECT_TRUE(cut) << "the agent saw the start of the frame, then the end of the connection";
  EXPECT_EQ(agent.received().size(), 2u + 10u);
  EXPECT_TRUE(agent.stream_closed());
  EXPECT_TRUE(app.stream_closed());
  EXPECT_EQ(counters.app_to_agent, 10u);
}

TEST_F(NetPumpRelayTunnel, ClosingAStalledLegEndsBothDirections) {
  agent.stall();  // reads nothing and takes nothing: the tunnel's write to it waits
  start();
  app.send(masked(opcode::binary, "stuck"));
  driver.settle();
  EXPECT_FALSE(driver.done());
  agent_ws.stream().close();  // what close_echo_timeout's deadline and the relay's drain do
  auto r = driver.finish();
  EXPECT_EQ(r.app_to_agent, pump_end::dest_lost);
  EXPECT_EQ(r.agent_to_app, pump_end::source_lost);
  EXPECT_EQ(r.error, asio::error::operation_aborted) << r.error.message();
  EXPECT_TRUE(app.stream_closed());
  EXPECT_EQ(agent.received(), "");
}

// The 1001 to a leg that takes nothing cannot be written; the echo deadline still ends the
// tunnel (it runs from before the write). Takes limits::close_echo_timeout of real time.
TEST_F(NetPumpRelayTunnel, ALostSourceEndsTheTunnelAtTheEchoDeadlineWhenTheOtherLegTakesNothing) {
  agent.stall();
  start();
  app.reset_now();
  auto r = driver.finish(limits::close_echo_timeout + 3s);
  EXPECT_EQ(r.app_to_agent, pump_end::source_lost);
  EXPECT_EQ(r.error, asio::error::connection_reset) << r.error.message();
  EXPECT_TRUE(app.stream_closed());
  EXPECT_TRUE(agent.stream_closed());
}

TEST_F(NetPumpRelayTunnel, AContinuationWithoutAStartGetsClose1002AndTheOtherLeg1001) {
  start();
  app.send(masked(opcode::continuation, "orphan"));
  auto r = expect_protocol_error(app, "", 1001);
  EXPECT_EQ(r.agent_to_app, pump_end::closed_error);
  EXPECT_EQ(counters.app_to_agent, 0u);
}

// A leg that breaks the protocol and then takes nothing (not even our Close 1002) cannot hold the
// tunnel: the echo deadline runs from before that Close. Takes limits::close_echo_timeout.
TEST_F(NetPumpRelayTunnel, AProtocolErrorFromALegThatTakesNothingEndsTheTunnelAtTheEchoDeadline) {
  app.stop_reading();
  start();
  app.send(masked(opcode::continuation, "orphan"));
  auto r = driver.finish(limits::close_echo_timeout + 3s);
  EXPECT_EQ(r.app_to_agent, pump_end::source_lost);
  EXPECT_EQ(r.error, proto::make_error_code(proto::errc::bad_request)) << r.error.message();
  EXPECT_TRUE(app.stream_closed());
  EXPECT_TRUE(agent.stream_closed());
}

TEST_F(NetPumpRelayTunnel, ANewMessageInsideAFragmentedOneGetsClose1002AndTheOtherLeg1001) {
  start();
  app.send(masked(opcode::text, "first", false));
  app.send(masked(opcode::text, "second"));
  auto r = expect_protocol_error(app, "text(more):first | ", 1000);
  EXPECT_EQ(r.agent_to_app, pump_end::closed);
}

TEST_F(NetPumpRelayTunnel, ACloseWithACodeThatMayNotBeSentGetsClose1002AndTheOtherLeg1001) {
  start();
  agent.send(masked_close(1005));  // "no status" is for reports, never for the wire
  auto r = expect_protocol_error(agent, "", 1001);
  EXPECT_EQ(r.app_to_agent, pump_end::closed_error);
}

TEST_F(NetPumpRelayTunnel, AnUnmaskedFrameFromAClientGetsClose1002) {
  start();
  app.send(frame_bytes(opcode::binary, true, "bare", false));
  auto r = expect_protocol_error(app, "", 1001);
  EXPECT_EQ(r.agent_to_app, pump_end::closed_error);
}

TEST_F(NetPumpRelayTunnel, APingIsAnsweredOnItsOwnLegAndNotForwarded) {
  start();
  app.send(masked(opcode::ping, "are you there"));
  driver.settle();
  EXPECT_EQ(frames_to(app), "pong:are you there");
  EXPECT_EQ(agent.received(), "");
  app.send(masked_close(1000));
  agent.send(masked_close(1000));
  auto r = driver.finish();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(frames_to(agent), "close:1000 ");
  EXPECT_EQ(counters.app_to_agent, 0u) << "control frames are not counted";
}

TEST_F(NetPumpRelayTunnel, APongIsDropped) {
  start();
  agent.send(masked(opcode::pong, "keep-alive"));
  agent.send(masked(opcode::binary, "after"));
  driver.settle();
  EXPECT_EQ(frames_to(app), "binary:after");
  EXPECT_EQ(agent.received(), "");
}

TEST_F(NetPumpRelayTunnel, FragmentedMessagesKeepTheirOpcodesAndFin) {
  start();
  app.send(masked(opcode::text, "frag", false));
  app.send(masked(opcode::ping, "between"));  // control frames may come between fragments
  app.send(masked(opcode::continuation, "men", false));
  app.send(masked(opcode::continuation, "ted"));
  app.send(masked(opcode::binary, ""));
  app.send(masked_close(1000));
  agent.send(masked_close(1000));
  auto r = driver.finish();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(frames_to(agent), "text(more):frag | cont(more):men | cont:ted | binary: | close:1000 ");
  EXPECT_EQ(frames_to(app), "pong:between | close:1000 ");
  EXPECT_EQ(counters.app_to_agent, 10u);
}

TEST_F(NetPumpRelayTunnel, ByteCountersCountEveryPayloadByteOfLargeFrames) {
  auto big = patterned(200'000);  // three pooled buffers and a bit
  app.send(masked(opcode::binary, big));
  app.send(masked_close(1000));
  agent.send(masked(opcode::binary, "abc"));
  agent.send(masked_close(1000));
  start();
  auto r = driver.finish();
  EXPECT_TRUE(r.clean());
  auto to_agent = frames_in(agent.received());
  ASSERT_EQ(to_agent.size(), 2u);
  EXPECT_EQ(to_agent[0].op, opcode::binary);
  EXPECT_TRUE(to_agent[0].payload == big) << "the payload changed on its way";
  EXPECT_EQ(counters.app_to_agent, 200'000u);
  EXPECT_EQ(counters.agent_to_app, 3u);
}

// ---------------------------------------------------------------- splice

// The WebSocket leg is client-role: its peer sends unmasked frames and reads masked ones.
class NetPumpSplice : public ::testing::Test {
 protected:
  ~NetPumpSplice() override {
    if (driver.done()) return;
    ws.stream().close();  // a tunnel that hung: let its coroutine end before the streams go
    tcp.close();
    driver.settle();
  }

  static std::string bare(opcode op, std::string_view payload) {
    return frame_bytes(op, true, payload, false);
  }
  static std::string bare_close(std::uint16_t code, std::string_view reason = "") {
    return close_frame_bytes(code, reason, false);
  }
  // The frames the WebSocket peer got; every one must be masked (we are the client).
  std::string frames_to_ws() const {
    auto frames = frames_in(ws_peer.received());
    for (const auto& f : frames) EXPECT_TRUE(f.masked) << "a client's frame went out unmasked";
    return describe(frames);
  }
  void start(tunnel_side tcp_is = tunnel_side::agent_side,
             std::chrono::milliseconds keepalive = limits::tunnel_keepalive_interval) {
    side = tcp_is;
    driver.start(splice(ws, tcp, counters, side, keepalive));
  }
  std::size_t pings_to_ws() const {
    auto frames = frames_in(ws_peer.received());
    return std::count_if(frames.begin(), frames.end(),
                         [](const seen_frame& f) { return f.op == opcode::ping; });
  }
  // How each direction ended and what it carried, whichever side the TCP connection is.
  pump_end from_tcp(const tunnel_result& r) const {
    return side == tunnel_side::app_side ? r.app_to_agent : r.agent_to_app;
  }
  pump_end from_ws(const tunnel_result& r) const {
    return side == tunnel_side::app_side ? r.agent_to_app : r.app_to_agent;
  }
  std::uint64_t bytes_from_tcp() const {
    return side == tunnel_side::app_side ? counters.app_to_agent : counters.agent_to_app;
  }
  std::uint64_t bytes_from_ws() const {
    return side == tunnel_side::app_side ? counters.agent_to_app : counters.app_to_agent;
  }

  asio::io_context io;
  memory_stream_pair ws_pair = make_memory_stream(io);
  memory_stream_pair tcp_pair = make_memory_stream(io);
  memory_peer& ws_peer = ws_pair.peer;
  memory_peer& tcp_peer = tcp_pair.peer;
  ws_connection ws{std::move(ws_pair.stream), ws_role::client};
  byte_stream& tcp = tcp_pair.stream;
  tunnel_counters counters;
  tunnel_driver driver{io};
  tunnel_side side = tunnel_side::agent_side;
};

TEST_F(NetPumpSplice, TcpEofBecomesClose1000AndBothDirectionsEndClosed) {
  tcp_peer.send("hello");
  tcp_peer.send_fin();
  start();
  EXPECT_EQ(frames_to_ws(), "binary:hello | close:1000 ");
  EXPECT_FALSE(driver.done()) << "the WebSocket direction is still open";
  ws_peer.send(bare_close(1000));
  auto r = driver.finish();
  EXPECT_EQ(from_tcp(r), pump_end::closed);
  EXPECT_EQ(from_ws(r), pump_end::closed);
  EXPECT_FALSE(r.error) << r.error.message();
  EXPECT_TRUE(tcp_peer.saw_fin());
  EXPECT_FALSE(tcp_peer.stream_closed()) << "the caller closes the TCP connection";
  EXPECT_EQ(tcp_peer.received(), "");
}

// An idle leg is pinged every interval; one that answers stays open and carries bytes after
// several intervals of silence (Azure's load balancers cut legs idle for about 4 minutes).
TEST_F(NetPumpSplice, AnIdleLegIsPingedAndStaysOpenWhileItAnswers) {
  start(tunnel_side::agent_side, 100ms);
  std::size_t answered = 0;
  auto until = std::chrono::steady_clock::now() + 700ms;
  while (std::chrono::steady_clock::now() < until) {
    driver.run_for(10ms);
    for (auto pings = pings_to_ws(); answered < pings; ++answered) ws_peer.send(bare(opcode::pong, ""));
  }
  EXPECT_GE(answered, 3u) << "an idle leg was not pinged every interval";
  ASSERT_FALSE(driver.done()) << "a leg that answers every Ping was dropped";
  ws_peer.send(bare(opcode::binary, "after the silence"));
  tcp_peer.send("answer");
  driver.settle();
  EXPECT_EQ(tcp_peer.received(), "after the silence");
  EXPECT_NE(frames_to_ws().find("binary:answer"), std::string::npos) << frames_to_ws();
  tcp_peer.send_fin();
  ws_peer.send(bare_close(1000));
  auto r = driver.finish();
  EXPECT_TRUE(r.clean()) << r.error.message();
}

// A leg that sends nothing back for a whole interval after a Ping is lost: the local TCP peer sees
// a reset (never a clean FIN) and the tunnel ends with timed_out.
TEST_F(NetPumpSplice, ALegThatStopsAnsweringPingsIsLostAndTcpIsReset) {
  start(tunnel_side::app_side, 100ms);
  auto r = driver.finish(3000ms);
  EXPECT_GE(pings_to_ws(), 1u);
  EXPECT_TRUE(tcp_peer.saw_reset()) << "the app must see an error, not EOF";
  EXPECT_FALSE(tcp_peer.saw_fin());
  EXPECT_EQ(r.error, asio::error::timed_out) << r.error.message();
  EXPECT_FALSE(r.clean());
}

TEST_F(NetPumpSplice, ANormalCloseHalfClosesTcpAndTheOtherDirectionKeepsFlowing) {
  start();
  ws_peer.send(bare(opcode::binary, "request"));
  ws_peer.send(bare_close(1000));
  driver.settle();
  EXPECT_EQ(tcp_peer.received(), "request");
  EXPECT_TRUE(tcp_peer.saw_fin());
  EXPECT_FALSE(tcp_peer.saw_reset());
  EXPECT_FALSE(driver.done());
  tcp_peer.send("response");
  driver.settle();
  EXPECT_EQ(frames_to_ws(), "binary:response");
  tcp_peer.send_fin();
  auto r = driver.finish();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(frames_to_ws(), "binary:response | close:1000 ");
}

TEST_F(NetPumpSplice, ACloseWithoutStatusHalfClosesTcpToo) {
  start();
  ws_peer.send(frame_bytes(opcode::close, true, "", false));  // 1005: no status
  driver.settle();
  EXPECT_TRUE(tcp_peer.saw_fin());
  EXPECT_FALSE(tcp_peer.saw_reset());
  tcp_peer.send_fin();
  auto r = driver.finish();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(frames_to_ws(), "close:1000 ");
}

TEST_F(NetPumpSplice, AnErrorCloseResetsTcpAndIsEchoed) {
  start();
  ws_peer.send(bare(opcode::binary, "partial"));
  ws_peer.send(bare_close(1011, "backend failed"));
  auto r = driver.finish();
  EXPECT_EQ(tcp_peer.received(), "partial");
  EXPECT_TRUE(tcp_peer.saw_reset()) << "an error end must not reach the TCP peer as a FIN";
  EXPECT_EQ(frames_to_ws(), "close:1011 backend failed");
  EXPECT_EQ(from_ws(r), pump_end::closed_error);
  EXPECT_EQ(from_tcp(r), pump_end::source_lost) << "the TCP read was cut by the reset";
  EXPECT_EQ(r.error, asio::error::operation_aborted) << r.error.message();
}

TEST_F(NetPumpSplice, ALostWebSocketLegResetsTcp) {
  start();
  ws_peer.reset_now();
  auto r = driver.finish();
  EXPECT_TRUE(tcp_peer.saw_reset());
  EXPECT_EQ(from_ws(r), pump_end::source_lost);
  EXPECT_EQ(from_tcp(r), pump_end::source_lost) << "the TCP read was cut by the reset";
  EXPECT_EQ(r.error, asio::error::connection_reset)
      << "the cause, not the reset it led to: " << r.error.message();
  EXPECT_EQ(ws_peer.received(), "") << "the Close 1011 cannot reach a reset leg";
}

TEST_F(NetPumpSplice, ATcpReadErrorSendsClose1011AndTheEchoResetsTcp) {
  tcp_peer.fail_read(1);
  start();
  EXPECT_EQ(frames_to_ws(), "close:1011 TCP connection failed: Connection reset by peer");
  EXPECT_FALSE(driver.done());
  ws_peer.send(bare_close(1011));
  auto r = driver.finish();
  EXPECT_EQ(from_tcp(r), pump_end::source_lost);
  EXPECT_EQ(from_ws(r), pump_end::closed_error);
  EXPECT_EQ(r.error, asio::error::connection_reset) << r.error.message();
  EXPECT_TRUE(tcp_peer.saw_reset());
  EXPECT_EQ(frames_to_ws(), "close:1011 TCP connection failed: Connection reset by peer");
}

// The Close 1011 to a WebSocket peer that takes nothing cannot be written; the echo deadline
// still ends the tunnel and resets TCP. Takes limits::close_echo_timeout of real time.
TEST_F(NetPumpSplice, ATcpReadErrorEndsTheTunnelAtTheEchoDeadlineWhenTheWebSocketTakesNothing) {
  ws_peer.stall();
  tcp_peer.fail_read(1);
  start();
  auto r = driver.finish(limits::close_echo_timeout + 3s);
  EXPECT_EQ(from_tcp(r), pump_end::source_lost);
  EXPECT_EQ(r.error, asio::error::connection_reset) << r.error.message();
  EXPECT_TRUE(tcp_peer.saw_reset());
  EXPECT_TRUE(ws_peer.stream_closed());
}

// A WebSocket peer that breaks the protocol and then takes nothing cannot hold the tunnel either.
TEST_F(NetPumpSplice, AProtocolErrorFromAWebSocketThatTakesNothingEndsTheTunnelAtTheEchoDeadline) {
  ws_peer.stop_reading();
  start();
  ws_peer.send(bare_close(1005));  // "no status" may not be sent
  auto r = driver.finish(limits::close_echo_timeout + 3s);
  EXPECT_EQ(from_ws(r), pump_end::source_lost);
  EXPECT_TRUE(tcp_peer.saw_reset());
  EXPECT_TRUE(ws_peer.stream_closed());
}

TEST_F(NetPumpSplice, ATcpWriteFailureSendsClose1011AndIsDestLost) {
  tcp_peer.fail_write(1);
  start();
  ws_peer.send(bare(opcode::binary, "lost"));
  driver.settle();
  EXPECT_EQ(frames_to_ws(), "close:1011 TCP connection failed: Broken pipe");
  EXPECT_FALSE(driver.done()) << "the TCP -> WebSocket direction ends on its own";
  tcp_peer.send_fin();
  auto r = driver.finish();
  EXPECT_EQ(from_ws(r), pump_end::dest_lost);
  EXPECT_EQ(from_tcp(r), pump_end::closed);
  EXPECT_EQ(r.error, asio::error::broken_pipe) << r.error.message();
  EXPECT_EQ(bytes_from_ws(), 0u);
  EXPECT_EQ(frames_to_ws(), "close:1011 TCP connection failed: Broken pipe") << "nothing after our Close";
}

TEST_F(NetPumpSplice, AWebSocketWriteFailureResetsTcpAndIsDestLost) {
  ws_peer.fail_write(1);
  tcp_peer.send("unsent");
  start();
  EXPECT_TRUE(tcp_peer.saw_reset());
  EXPECT_FALSE(driver.done()) << "the WebSocket direction ends on its own";
  ws_peer.reset_now();  // a connection whose write failed fails its read too
  auto r = driver.finish();
  EXPECT_EQ(from_tcp(r), pump_end::dest_lost);
  EXPECT_EQ(from_ws(r), pump_end::source_lost);
  EXPECT_EQ(r.error, asio::error::broken_pipe) << r.error.message();
  EXPECT_EQ(ws_peer.received(), "");
  EXPECT_EQ(bytes_from_tcp(), 0u);
}

TEST_F(NetPumpSplice, AWebSocketProtocolErrorGetsClose1002AndResetsTcp) {
  start();
  ws_peer.send(frame_bytes(opcode::binary, true, "masked by a server", true));
  driver.settle();
  EXPECT_EQ(frames_to_ws(), "close:1002 " + protocol_reason);
  EXPECT_TRUE(tcp_peer.saw_reset());
  auto r = driver.finish();
  EXPECT_EQ(from_ws(r), pump_end::source_lost);
  EXPECT_EQ(from_tcp(r), pump_end::source_lost);
  EXPECT_EQ(tcp_peer.received(), "");
}

TEST_F(NetPumpSplice, APingIsAnsweredWithAPongAndNothingReachesTcp) {
  start();
  ws_peer.send(bare(opcode::ping, "heartbeat"));
  driver.settle();
  EXPECT_EQ(frames_to_ws(), "pong:heartbeat");
  EXPECT_EQ(tcp_peer.received(), "");
  ws_peer.send(bare(opcode::pong, "ignored"));
  ws_peer.send(bare_close(1000));
  tcp_peer.send_fin();
  auto r = driver.finish();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(tcp_peer.received(), "");
  EXPECT_EQ(counters.app_to_agent + counters.agent_to_app, 0u);
}

// Each direction's counter and ending land on the right side for both orientations: TCP bytes
// (3000, over the first 1024-byte read: one frame) go one way, a 70000-byte frame the other.
class NetPumpSpliceSides : public NetPumpSplice, public ::testing::WithParamInterface<tunnel_side> {};

TEST_P(NetPumpSpliceSides, CountersAndEndingsFollowWhichSideTheTcpConnectionIs) {
  auto from_tcp = patterned(3000);
  tcp_peer.send(from_tcp);
  tcp_peer.send_fin();
  start(GetParam());
  auto to_ws = frames_in(ws_peer.received());
  ASSERT_EQ(to_ws.size(), 2u);
  EXPECT_TRUE(to_ws[0].payload == from_tcp) << "3000 TCP bytes waiting go out as one frame";
  EXPECT_EQ(describe({to_ws[1]}), "close:1000 ");
  auto from_ws = patterned(70'000);
  ws_peer.send(bare(opcode::binary, from_ws));
  ws_peer.send(bare_close(1011, "then it failed"));
  auto r = driver.finish();
  EXPECT_TRUE(tcp_peer.received() == from_ws) << "the payload changed on its way";
  EXPECT_TRUE(tcp_peer.saw_reset());
  bool tcp_is_app = GetParam() == tunnel_side::app_side;
  EXPECT_EQ(counters.app_to_agent, tcp_is_app ? 3000u : 70'000u);
  EXPECT_EQ(counters.agent_to_app, tcp_is_app ? 70'000u : 3000u);
  EXPECT_EQ(r.app_to_agent, tcp_is_app ? pump_end::closed : pump_end::closed_error);
  EXPECT_EQ(r.agent_to_app, tcp_is_app ? pump_end::closed_error : pump_end::closed);
}

INSTANTIATE_TEST_SUITE_P(TcpIsAppOrAgent, NetPumpSpliceSides,
                         ::testing::Values(tunnel_side::app_side, tunnel_side::agent_side),
                         [](const auto& info) {
                           return info.param == tunnel_side::app_side ? "tcp_is_app" : "tcp_is_agent";
                         });

}  // namespace
}  // namespace hc::net

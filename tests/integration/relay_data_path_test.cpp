// tests/integration/relay_data_path_test: the relay's tunnel between a sender and a listener's
// rendezvous leg, over real TLS sockets against a real hcrelay process (protocol doc §5.4):
// opcodes, message boundaries and fragments kept, large messages streamed, half-close both
// ways, a leg lost without Close, per-leg Ping/Pong, what the listener learns from `accept`.
// One named test per way a tunnel carries data or ends. Harness: harness.hpp.
#include "harness.hpp"

#include "proto/encoding.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace hc::test {
namespace {

// Echoes every frame back (Close included) and returns what arrived, the Close last.
task<std::vector<ws_frame>> echo_and_record(net::ws_connection& ws) {
  std::vector<ws_frame> got;
  for (;;) {
    auto frame = co_await read_frame(ws, "listener");
    got.push_back(frame);
    co_await send_frame(ws, frame.op, frame.fin, frame.payload);
    if (frame.op == opcode::close) co_return got;
  }
}

class RelayDataPath : public relay_test {};

// Reads frames until a Close (included) and returns them all.
task<std::vector<ws_frame>> read_until_close(net::ws_connection& ws, std::string_view who) {
  std::vector<ws_frame> frames;
  for (;;) {
    frames.push_back(co_await read_frame(ws, who));
    if (frames.back().op == opcode::close) co_return frames;
  }
}

std::vector<ws_frame> without_pongs(std::vector<ws_frame> frames) {
  std::erase_if(frames, [](const ws_frame& f) { return f.op == opcode::pong; });
  return frames;
}

// Deterministic bytes for the large-message test (splitmix64), and FNV-1a to compare them.
struct byte_source {
  std::uint64_t state;
  void fill(std::span<std::uint8_t> out) {
    for (auto& b : out) {
      state += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      b = std::uint8_t(z ^ (z >> 31));
    }
  }
};
struct fnv1a {
  std::uint64_t value = 0xcbf29ce484222325ull;
  void add(std::span<const std::uint8_t> bytes) {
    for (auto b : bytes) value = (value ^ b) * 0x100000001b3ull;
  }
};

constexpr std::uint64_t large_message_bytes = 64ull * 1024 * 1024;
constexpr std::size_t chunk_bytes = 64 * 1024;

TEST_F(RelayDataPath, EchoesBinaryAndTextMessagesKeepingOpcodeAndBoundaries) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "echo");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    const std::vector<ws_frame> sent{
        {opcode::binary, true, std::string("\0\1\2\xff", 4)},
        {opcode::text, true, "hello"},
        {opcode::binary, true, ""},
        {opcode::text, true,
         "\xc3\xbcnic\xc3\xb6"
         "de"},
        {opcode::binary, true, std::string(200'000, 'x')},
        {opcode::text, true, "last"},
    };
    auto sender_side = [&]() -> task<std::vector<ws_frame>> {
      for (const auto& f : sent) co_await send_frame(t.sender, f.op, f.fin, f.payload);
      co_await send_close(t.sender, 1000, "bye");
      co_return co_await read_until_close(t.sender, "sender");
    };
    auto [at_sender, at_listener] = co_await both(sender_side(), echo_and_record(t.listener));

    auto expected = sent;
    expected.push_back({opcode::close, true, proto::build_close_payload(1000, "bye")});
    EXPECT_EQ(at_listener, expected) << "what the listener received";
    EXPECT_EQ(at_sender, expected) << "what the sender received back";
    // Both directions closed: the relay ends both connections.
    auto ended_1 = co_await read_until_error(t.sender);
    EXPECT_TRUE(ended_1) << "sender leg still open after the Close exchange";
    auto ended_2 = co_await read_until_error(t.listener);
    EXPECT_TRUE(ended_2) << "listener leg still open after the Close exchange";
  });
}

TEST_F(RelayDataPath, KeepsFragmentedMessagesFrameByFrame) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "fragments");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    const std::vector<ws_frame> sent{
        {opcode::text, false, "frag-1 "},       {opcode::continuation, false, "frag-2 "},
        {opcode::continuation, true, "frag-3"}, {opcode::binary, false, std::string(70'000, 'a')},
        {opcode::continuation, false, ""},      {opcode::continuation, true, std::string(3, 'b')},
        {opcode::binary, true, "unfragmented"},
    };
    auto sender_side = [&]() -> task<std::vector<ws_frame>> {
      for (std::size_t i = 0; i < sent.size(); ++i) {
        co_await send_frame(t.sender, sent[i].op, sent[i].fin, sent[i].payload);
        // A control frame between fragments is legal: the relay answers it, the message stays whole.
        if (i == 1) co_await send_frame(t.sender, opcode::ping, true, "between fragments");
      }
      co_await send_close(t.sender, 1000, "done");
      co_return co_await read_until_close(t.sender, "sender");
    };
    auto [at_sender, at_listener] = co_await both(sender_side(), echo_and_record(t.listener));

    auto expected = sent;
    expected.push_back({opcode::close, true, proto::build_close_payload(1000, "done")});
    EXPECT_EQ(at_listener, expected) << "the Ping must not reach the listener; fragments must stay as sent";
    auto pongs = std::count_if(at_sender.begin(), at_sender.end(), [](const ws_frame& f) {
      return f.op == opcode::pong && f.payload == "between fragments";
    });
    EXPECT_EQ(pongs, 1) << "the relay answers the sender's Ping on the sender's leg";
    EXPECT_EQ(without_pongs(at_sender), expected);
  });
}

TEST_F(RelayDataPath, Streams64MiBMessagesBothWays) {
  run(
      [&]() -> task<> {
        auto hc = co_await make_hc(relay(), "large");
        auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
        auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);

        // Sender -> listener: one 64 MiB frame, written in 64 KiB pieces.
        auto send_one_frame = [&]() -> task<std::uint64_t> {
          byte_source source{1};
          fnv1a sum;
          std::vector<std::uint8_t> chunk(chunk_bytes);
          auto writer = co_await t.sender.begin_frame(opcode::binary, true, large_message_bytes);
          for (std::uint64_t sent = 0; sent < large_message_bytes; sent += chunk.size()) {
            source.fill(chunk);
            sum.add(chunk);  // before writing: a client's write masks the bytes in place
            auto ec = co_await writer.write(chunk);
            require(!ec, "writing the large frame failed: " + ec.message());
          }
          co_return sum.value;
        };
        // Listener -> sender: one 64 MiB message as 64 fragments of 1 MiB.
        auto send_fragments = [&]() -> task<std::uint64_t> {
          byte_source source{2};
          fnv1a sum;
          constexpr std::uint64_t fragment = 1024 * 1024;
          std::vector<std::uint8_t> chunk(chunk_bytes);
          for (std::uint64_t at = 0; at < large_message_bytes; at += fragment) {
            auto op = at == 0 ? opcode::binary : opcode::continuation;
            auto writer = co_await t.listener.begin_frame(op, at + fragment == large_message_bytes, fragment);
            for (std::uint64_t done = 0; done < fragment; done += chunk.size()) {
              source.fill(chunk);
              sum.add(chunk);
              auto ec = co_await writer.write(chunk);
              require(!ec, "writing a fragment failed: " + ec.message());
            }
          }
          co_return sum.value;
        };
        struct received {
          std::uint64_t bytes = 0;
          std::uint64_t sum = 0;
          int frames = 0;
        };
        auto receive = [&](net::ws_connection& ws) -> task<received> {
          received r;
          fnv1a sum;
          std::vector<std::uint8_t> buffer(chunk_bytes);
          for (;;) {
            auto [ec, h] = co_await ws.read_header();
            require(!ec, "reading the large message failed: " + ec.message());
            require(h.op == (r.frames == 0 ? opcode::binary : opcode::continuation), "unexpected opcode");
            ++r.frames;
            while (ws.payload_remaining() > 0) {
              auto got = co_await ws.read_payload(asio::buffer(buffer));
              require(!got.ec, "reading the large payload failed: " + got.ec.message());
              sum.add(std::span(buffer.data(), got.bytes));
              r.bytes += got.bytes;
            }
            if (h.fin) break;
          }
          r.sum = sum.value;
          co_return r;
        };
        auto [up, down] = co_await both(both(send_one_frame(), receive(t.listener)),
                                        both(send_fragments(), receive(t.sender)));
        auto [up_sent, up_received] = up;
        auto [down_sent, down_received] = down;
        EXPECT_EQ(up_received.bytes, large_message_bytes);
        EXPECT_EQ(up_received.frames, 1) << "the relay must not split a frame";
        EXPECT_EQ(up_received.sum, up_sent) << "sender -> listener checksum";
        EXPECT_EQ(down_received.bytes, large_message_bytes);
        EXPECT_EQ(down_received.frames, 64) << "the relay must keep each fragment";
        EXPECT_EQ(down_received.sum, down_sent) << "listener -> sender checksum";

        co_await send_close(t.sender, 1000, "done");
        auto frame_3 = co_await read_frame(t.listener);
        EXPECT_EQ(close_of(frame_3).code, 1000);
        co_await send_close(t.listener, 1000, "done");
        auto frame_4 = co_await read_frame(t.sender);
        EXPECT_EQ(close_of(frame_4).code, 1000);
      },
      120s);
}

TEST_F(RelayDataPath, SenderHalfCloseLetsListenerKeepSending) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "half-close-sender");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    co_await send_frame(t.sender, opcode::binary, true, "request");
    co_await send_close(t.sender, 1000, "Shutdown");

    auto request = co_await read_frame(t.listener, "listener");
    EXPECT_EQ(request.payload, "request");
    auto shutdown = co_await read_frame(t.listener, "listener");
    require(shutdown.op == opcode::close, "the listener should get the sender's Close");
    EXPECT_EQ(close_of(shutdown).code, 1000);
    EXPECT_EQ(close_of(shutdown).reason, "Shutdown");
    // The reply is still coming: the sender must receive all of it after its own Close.
    for (int i = 0; i < 3; ++i)
      co_await send_frame(t.listener, opcode::binary, true, "reply-" + std::to_string(i));
    co_await send_close(t.listener, 1000, "listener done");

    for (int i = 0; i < 3; ++i) {
      auto reply = co_await read_frame(t.sender, "sender");
      EXPECT_EQ(reply, (ws_frame{opcode::binary, true, "reply-" + std::to_string(i)}));
    }
    auto closed = co_await read_frame(t.sender, "sender");
    require(closed.op == opcode::close, "the sender should get the listener's Close");
    EXPECT_EQ(close_of(closed).code, 1000);
    EXPECT_EQ(close_of(closed).reason, "listener done");
    auto ended_5 = co_await read_until_error(t.sender);
    EXPECT_TRUE(ended_5) << "the relay should end the sender leg after both Closes";
  });
}

TEST_F(RelayDataPath, ListenerHalfCloseLetsSenderKeepSending) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "half-close-listener");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    co_await send_close(t.listener, 1000, "Shutdown");

    auto shutdown = co_await read_frame(t.sender, "sender");
    require(shutdown.op == opcode::close, "the sender should get the listener's Close");
    EXPECT_EQ(close_of(shutdown).reason, "Shutdown");
    for (int i = 0; i < 3; ++i)
      co_await send_frame(t.sender, opcode::text, true, "late-" + std::to_string(i));
    co_await send_close(t.sender, 1000, "sender done");

    for (int i = 0; i < 3; ++i) {
      auto late = co_await read_frame(t.listener, "listener");
      EXPECT_EQ(late, (ws_frame{opcode::text, true, "late-" + std::to_string(i)}));
    }
    auto closed = co_await read_frame(t.listener, "listener");
    require(closed.op == opcode::close, "the listener should get the sender's Close");
    EXPECT_EQ(close_of(closed).reason, "sender done");
    auto ended_6 = co_await read_until_error(t.listener);
    EXPECT_TRUE(ended_6) << "the relay should end the listener leg after both Closes";
  });
}

TEST_F(RelayDataPath, ListenerLegLostWithoutCloseEndsSenderWithError) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "abrupt");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    co_await send_frame(t.sender, opcode::binary, true, "hello");
    auto frame_7 = co_await read_frame(t.listener);
    EXPECT_EQ(frame_7.payload, "hello");
    t.listener.stream().close();  // no Close frame

    auto ending = co_await read_frame(t.sender, "sender");
    require(ending.op == opcode::close, "the sender should get a Close frame");
    auto code = close_of(ending).code;
    EXPECT_TRUE(code == 1001 || code == 1011) << "a lost leg must not look like a clean end; got " << code;
    co_await send_close(t.sender, code, "");
    auto ended_8 = co_await read_until_error(t.sender);
    EXPECT_TRUE(ended_8);
    // The listener's control channel is unaffected.
    co_await send_frame(control, opcode::ping, true, "still there?");
    auto frame_9 = co_await read_frame(control);
    EXPECT_EQ(frame_9, (ws_frame{opcode::pong, true, "still there?"}));
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayDataPath, SenderLegResetEndsListenerWithError) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "abrupt-sender");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    co_await send_frame(t.listener, opcode::binary, true, "hello");
    auto hello = co_await read_frame(t.sender);
    EXPECT_EQ(hello.payload, "hello");
    t.sender.stream().reset();  // TCP RST, no Close frame

    auto ending = co_await read_frame(t.listener, "listener");
    require(ending.op == opcode::close, "the listener should get a Close frame");
    auto code = close_of(ending).code;
    EXPECT_TRUE(code == 1001 || code == 1011) << "a lost leg must not look like a clean end; got " << code;
    co_await send_close(t.listener, code, "");
    auto ended = co_await read_until_error(t.listener);
    EXPECT_TRUE(ended);
    co_await expect_healthy_echo(relay());
  });
}

TEST_F(RelayDataPath, AnswersPingOnEachLegAndOnTheControlChannel) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "ping");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    co_await send_frame(control, opcode::ping, true, "control");
    auto frame_10 = co_await read_frame(control);
    EXPECT_EQ(frame_10, (ws_frame{opcode::pong, true, "control"}));

    auto t = co_await open_tunnel(relay(), control, hc.name, hc.send_token);
    co_await send_frame(t.sender, opcode::ping, true, "from sender");
    auto frame_11 = co_await read_frame(t.sender);
    EXPECT_EQ(frame_11, (ws_frame{opcode::pong, true, "from sender"}));
    co_await send_frame(t.listener, opcode::ping, true, "");
    auto frame_12 = co_await read_frame(t.listener);
    EXPECT_EQ(frame_12, (ws_frame{opcode::pong, true, ""}));
    // An unsolicited Pong (hyco-https keep-alive) is accepted and not forwarded either.
    co_await send_frame(t.sender, opcode::pong, true, "unsolicited");
    // The pings stayed on their legs: the next thing each side sees is the other's data.
    co_await send_frame(t.sender, opcode::text, true, "to listener");
    co_await send_frame(t.listener, opcode::text, true, "to sender");
    auto frame_13 = co_await read_frame(t.listener);
    EXPECT_EQ(frame_13, (ws_frame{opcode::text, true, "to listener"}));
    auto frame_14 = co_await read_frame(t.sender);
    EXPECT_EQ(frame_14, (ws_frame{opcode::text, true, "to sender"}));
  });
}

TEST_F(RelayDataPath, AcceptCarriesSenderHeadersButNotItsToken) {
  run([&]() -> task<> {
    auto hc = co_await make_hc(relay(), "headers");
    auto control = co_await connect_listener(relay(), hc.name, hc.listen_token);
    header_list sender_headers{{"X-Custom", "a;b-c/d.e"}, {"Sec-WebSocket-Protocol", "p1, p2"}};
    auto listener_side = [&]() -> task<std::pair<proto::accept_message, net::dial_result>> {
      auto accept = co_await read_accept(control);
      header_list chosen{{"Sec-WebSocket-Protocol", "p2"}};  // named: net/types.hpp
      auto leg = co_await dial_address(relay(), accept.address, chosen);
      co_return std::pair{std::move(accept), std::move(leg)};
    };
    auto [sender, accepted] = co_await both(
        open_sender(relay(), hc.name, hc.send_token, sender_headers, "app=1&x=y%20z"), listener_side());
    auto& [accept, leg] = accepted;
    require(sender.connection.has_value(), "sender: " + sender.error);
    require(leg.connection.has_value(), "accept: " + leg.error);

    auto header = [&](std::string_view name) -> std::optional<std::string> {
      for (const auto& [k, v] : accept.connect_headers)
        if (proto::iequals(k, name)) return v;
      return std::nullopt;
    };
    EXPECT_TRUE(header("Sec-WebSocket-Key").has_value() && !header("Sec-WebSocket-Key")->empty());
    EXPECT_EQ(header("Sec-WebSocket-Version"), "13");
    EXPECT_EQ(header("X-Custom"), "a;b-c/d.e");
    EXPECT_EQ(header("Sec-WebSocket-Protocol"), "p1, p2");
    EXPECT_EQ(header("ServiceBusAuthorization"), std::nullopt)
        << "the sender's token must not reach the listener";
    EXPECT_FALSE(accept.id.empty());
    require(accept.remote.has_value(), "the accept has no remoteEndpoint");
    EXPECT_EQ(accept.remote->address, "127.0.0.1");
    EXPECT_NE(accept.remote->port, 0);
    // The address keeps the app's path and query and hides the relay's parameters behind sb-hc-.
    EXPECT_TRUE(
        accept.address.starts_with("wss://localhost:" + std::to_string(relay().port()) + "/$hc/headers?"))
        << accept.address;
    EXPECT_NE(accept.address.find("app=1&x=y%20z"), std::string::npos) << accept.address;
    EXPECT_NE(accept.address.find("sb-hc-action=accept"), std::string::npos) << accept.address;
    EXPECT_EQ(accept.address.find("SharedAccessSignature"), std::string::npos) << accept.address;
    // The listener's chosen subprotocol reaches the sender.
    EXPECT_EQ(net::find_header(sender.headers, "Sec-WebSocket-Protocol"), "p2");
    EXPECT_EQ(net::find_header(leg.headers, "Sec-WebSocket-Protocol"), "p2");
  });
}

}  // namespace
}  // namespace hc::test

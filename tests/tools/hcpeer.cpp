// tests/tools/hcpeer: a small Hybrid Connections peer for tests, built on net/ (dial_websocket,
// ws_connection). `hcpeer listen` holds a control channel, dials every accept address and echoes
// (or prints) what arrives; `hcpeer send` connects as a sender, sends N messages and prints the
// replies. Stdout carries only what tests read: "ready", then one line per message,
// "text:PAYLOAD" or "binary:HEX"; diagnostics go to stderr. Exit 0 ok, 1 bad options, 2 refused
// or failed (relay status and reason on stderr), 3 timeout. One io_context on the main thread:
// every coroutine runs on it, so nothing is shared across threads.
#include "net/clock.hpp"
#include "net/tls.hpp"
#include "net/ws_client.hpp"
#include "proto/connection_string.hpp"
#include "proto/control_messages.hpp"
#include "proto/hc_address.hpp"
#include "proto/sas.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>

namespace {
namespace asio = hc::net::asio;
using hc::net::error_code;
using hc::net::task;
using hc::net::ws_connection;
using hc::proto::opcode;

struct peer_options {
  std::string connection_string;
  std::string ca_file;
  std::string entity;  // overrides EntityPath
  std::chrono::seconds timeout{20};
  // listen
  bool echo = false;
  // send
  std::string message;
  bool binary = false;
  bool hex = false;
  int count = 1;
};

// What the peer dials and how it authenticates, derived once from the options.
struct peer_target {
  std::string host;
  std::uint16_t port = 443;
  std::string entity;
  std::string token;  // "SharedAccessSignature sr=..."
  hc::net::tls_context tls;
};

// Exit codes: 0 ok, 1 usage/config, 2 the relay refused or failed, 3 timeout.
constexpr int exit_config = 1, exit_relay = 2, exit_timeout = 3;

void fail_line(const std::string& what) {
  std::cerr << "hcpeer: " << what << std::endl;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += char(hi * 16 + lo);
  }
  return out;
}

// One line per message on stdout: "text:<payload>" or "binary:<hex>".
void print_message(opcode op, std::string_view payload) {
  if (op == opcode::text)
    std::cout << "text:" << payload << std::endl;
  else
    std::cout << "binary:" << to_hex(payload) << std::endl;
}

// Builds the target; the token is signed over http://host/entity (port dropped, as .NET does).
std::optional<peer_target> make_target(const peer_options& o) {
  auto cs = hc::proto::parse_connection_string(o.connection_string);
  if (!cs) {
    fail_line("bad --connection-string: " + cs.error().message);
    return std::nullopt;
  }
  peer_target t;
  t.host = cs->host;
  t.port = cs->port;
  t.entity = o.entity.empty() ? cs->entity_path : o.entity;
  if (t.entity.empty()) {
    fail_line("no entity: give --entity or a connection string with EntityPath");
    return std::nullopt;
  }
  if (!cs->sas_token.empty()) {
    t.token = cs->sas_token;
  } else {
    auto expiry = hc::net::unix_now() + std::chrono::seconds(std::chrono::hours(1)).count();
    t.token = hc::proto::make_sas_token("http://" + t.host + "/" + t.entity, cs->key_name, cs->key, expiry);
  }
  try {
    t.tls = hc::net::make_client_tls(hc::net::ca_file_from(o.ca_file));
  } catch (const std::exception& e) {
    fail_line(e.what());
    return std::nullopt;
  }
  return t;
}

// Reads one whole data message (all fragments) into `out`; answers Pings on the way. Returns the
// message's opcode, or opcode::close with `out` holding the Close payload.
struct read_outcome {
  error_code ec;
  opcode op = opcode::binary;
};
task<read_outcome> read_message(ws_connection& ws, std::string& out) {
  out.clear();
  std::optional<opcode> first;
  for (;;) {
    auto [ec, h] = co_await ws.read_header();
    if (ec) co_return read_outcome{ec};
    if (hc::proto::is_control(h.op)) {
      std::string payload;
      if (auto pec = co_await ws.read_control_payload(payload)) co_return read_outcome{pec};
      if (h.op == opcode::close) {
        out = std::move(payload);
        co_return read_outcome{{}, opcode::close};
      }
      if (h.op == opcode::ping)
        co_await ws.write_frame(opcode::pong, true,
                                std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size()));
      continue;
    }
    if (!first) first = h.op;
    std::size_t at = out.size();
    out.resize(at + std::size_t(h.payload_length));
    while (ws.payload_remaining() > 0) {
      auto r = co_await ws.read_payload(asio::buffer(out.data() + at, out.size() - at));
      if (r.ec) co_return read_outcome{r.ec};
      at += r.bytes;
    }
    if (h.fin) co_return read_outcome{{}, *first};
  }
}

// After our Close: read until the peer's Close or the end of the stream, so closing the socket
// never discards bytes in flight (unread input would turn our FIN into an RST).
task<void> drain_until_closed(ws_connection& ws, std::chrono::seconds limit) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, limit);
  timer.async_wait([&ws](error_code ec) {
    if (!ec) ws.stream().close();
  });
  std::string sink;
  for (;;) {
    auto r = co_await read_message(ws, sink);
    if (r.ec || r.op == opcode::close) break;
  }
  timer.cancel();
}

// ---------------------------------------------------------------- send

task<int> run_send(peer_options o, peer_target t) {
  std::string payload = o.message;
  if (o.hex) {
    auto bytes = from_hex(o.message);
    if (!bytes) {
      fail_line("--message is not hex");
      co_return exit_config;
    }
    payload = *bytes;
  }
  opcode op = (o.binary || o.hex) ? opcode::binary : opcode::text;

  hc::net::dial_request req;
  req.url = hc::proto::build_connect_url(t.host, t.port, t.entity);
  req.headers.emplace_back("ServiceBusAuthorization", t.token);
  req.tls = t.tls;
  req.timeout = o.timeout;
  auto dialed = co_await hc::net::dial_websocket(std::move(req));
  if (!dialed) {
    fail_line("connect failed: " +
              (dialed.status ? std::to_string(dialed.status) + " " + dialed.reason : dialed.error));
    co_return exit_relay;
  }
  ws_connection& ws = *dialed.connection;

  auto ex = co_await asio::this_coro::executor;
  bool timed_out = false;
  asio::steady_timer overall(ex, o.timeout);
  overall.async_wait([&](error_code ec) {
    if (ec) return;
    timed_out = true;
    ws.stream().close();
  });

  auto send_all = [&]() -> task<error_code> {
    for (int i = 0; i < o.count; ++i) {
      std::string copy = payload;  // write_frame masks in place
      if (auto ec = co_await ws.write_frame(
              op, true, std::span(reinterpret_cast<std::uint8_t*>(copy.data()), copy.size())))
        co_return ec;
    }
    co_return error_code{};
  };
  std::string failure;
  auto read_all = [&]() -> task<int> {
    std::string msg;
    for (int got = 0; got < o.count; ++got) {
      auto r = co_await read_message(ws, msg);
      if (r.ec) {
        failure = "reading reply " + std::to_string(got + 1) + " failed: " + r.ec.message();
        co_return got;
      }
      if (r.op == opcode::close) {
        auto info = hc::proto::parse_close_payload(
            std::span(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
        failure = "the peer closed after " + std::to_string(got) +
                  " replies: " + (info ? std::to_string(info->code) + " " + info->reason : "malformed Close");
        co_return got;
      }
      print_message(r.op, msg);
    }
    co_return o.count;
  };
  using namespace asio::experimental::awaitable_operators;
  auto [send_ec, replies] = co_await (send_all() && read_all());
  if (send_ec && failure.empty()) failure = "sending failed: " + send_ec.message();
  if (replies == o.count && !timed_out) {
    co_await ws.write_close(1000, "done");
    co_await drain_until_closed(ws, std::chrono::seconds(5));
  }
  overall.cancel();
  if (timed_out) {
    fail_line("timed out after " + std::to_string(o.timeout.count()) + " s with " + std::to_string(replies) +
              " of " + std::to_string(o.count) + " replies");
    co_return exit_timeout;
  }
  if (replies != o.count) {
    fail_line(failure);
    co_return exit_relay;
  }
  co_return 0;
}

// ---------------------------------------------------------------- listen

// One accepted connection: echo each frame back with the same opcode and FIN (payload streamed
// through a fixed buffer), or print whole messages. Ends after the Close handshake.
task<void> serve_accept(peer_options o, peer_target t, hc::proto::accept_message accept) {
  hc::net::dial_request req;
  req.url = accept.address;
  req.tls = t.tls;
  req.timeout = o.timeout;
  // Like hyco-ws and .NET: take the first subprotocol the sender offered.
  if (auto offered = hc::net::find_header(accept.connect_headers, "Sec-WebSocket-Protocol");
      !offered.empty()) {
    auto first = offered.substr(0, offered.find(','));
    while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
    req.headers.emplace_back("Sec-WebSocket-Protocol", std::string(first));
  }
  auto dialed = co_await hc::net::dial_websocket(std::move(req));
  if (!dialed) {
    fail_line("accept " + accept.id + " failed: " +
              (dialed.status ? std::to_string(dialed.status) + " " + dialed.reason : dialed.error));
    co_return;
  }
  ws_connection& ws = *dialed.connection;
  std::cerr << "hcpeer: accepted " << accept.id << std::endl;
  std::array<std::uint8_t, 16 * 1024> buffer;
  std::string message;
  std::optional<opcode> message_op;
  for (;;) {
    auto [ec, h] = co_await ws.read_header();
    if (ec) {
      fail_line("connection " + accept.id + " lost: " + ec.message());
      co_return;
    }
    if (hc::proto::is_control(h.op)) {
      std::string payload;
      if (co_await ws.read_control_payload(payload)) co_return;
      auto bytes = std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size());
      if (h.op == opcode::ping) co_await ws.write_frame(opcode::pong, true, bytes);
      if (h.op == opcode::close) {
        co_await ws.write_close_raw(payload);  // echo the sender's code and reason
        co_await drain_until_closed(ws, std::chrono::seconds(5));
        std::cerr << "hcpeer: connection " << accept.id << " closed" << std::endl;
        co_return;
      }
      continue;
    }
    if (o.echo) {
      auto writer = co_await ws.begin_frame(h.op, h.fin, h.payload_length);
      while (ws.payload_remaining() > 0) {
        auto r = co_await ws.read_payload(asio::buffer(buffer));
        if (r.ec) co_return;
        if (co_await writer.write(std::span(buffer.data(), r.bytes))) co_return;
      }
      if (co_await writer.finish()) co_return;
      continue;
    }
    if (!message_op) message_op = h.op;
    while (ws.payload_remaining() > 0) {
      auto r = co_await ws.read_payload(asio::buffer(buffer));
      if (r.ec) co_return;
      message.append(reinterpret_cast<const char*>(buffer.data()), r.bytes);
    }
    if (h.fin) {
      print_message(*message_op, message);
      message.clear();
      message_op.reset();
    }
  }
}

task<int> run_listen(peer_options o, peer_target t) {
  hc::net::dial_request req;
  req.url = hc::proto::build_listen_url(t.host, t.port, t.entity);
  req.headers.emplace_back("ServiceBusAuthorization", t.token);
  req.tls = t.tls;
  req.timeout = o.timeout;
  auto dialed = co_await hc::net::dial_websocket(std::move(req));
  if (!dialed) {
    fail_line("listen failed: " +
              (dialed.status ? std::to_string(dialed.status) + " " + dialed.reason : dialed.error));
    co_return exit_relay;
  }
  ws_connection& control = *dialed.connection;
  std::cout << "ready" << std::endl;
  auto ex = co_await asio::this_coro::executor;
  std::string msg;
  for (;;) {
    auto r = co_await read_message(control, msg);
    if (r.ec) {
      fail_line("control channel lost: " + r.ec.message());
      co_return exit_relay;
    }
    if (r.op == opcode::close) {
      auto info = hc::proto::parse_close_payload(
          std::span(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
      fail_line("the relay closed the control channel: " +
                (info ? std::to_string(info->code) + " " + info->reason : "?"));
      co_await control.write_close_raw(msg);
      co_return exit_relay;
    }
    auto command = hc::proto::parse_relay_command(msg);
    if (!command) {
      fail_line("bad control message: " + command.error().message);
      continue;
    }
    if (auto* accept = std::get_if<hc::proto::accept_message>(&*command)) {
      std::string id = accept->id;
      asio::co_spawn(ex, serve_accept(o, t, std::move(*accept)), [id](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          fail_line("connection " + id + " failed: " + ex.what());
        }
      });
    } else {
      std::cerr << "hcpeer: ignoring control command " << std::get<hc::proto::unknown_command>(*command).name
                << std::endl;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  peer_options o;
  int timeout_s = 20;
  CLI::App app{"hcpeer: a Hybrid Connections listener or sender for tests"};
  app.require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    sub->add_option("--connection-string", o.connection_string, "Endpoint=sb://HOST[:PORT]/;...")->required();
    sub->add_option("--ca-file", o.ca_file, "Extra CA to trust (PEM); default HCRELAY_CA_FILE");
    sub->add_option("--entity", o.entity,
                    "Hybrid connection name (default: the connection string's EntityPath)");
    sub->add_option("--timeout", timeout_s, "Seconds for the handshake (listen) or the whole exchange (send)")
        ->capture_default_str();
  };
  auto* listen = app.add_subcommand("listen", "Hold a control channel; accept every sender");
  common(listen);
  listen->add_flag("--echo", o.echo,
                   "Echo each frame back (default: print messages as text:/binary:HEX lines)");
  auto* send = app.add_subcommand("send", "Connect as a sender, send messages, print the replies");
  common(send);
  send->add_option("--message", o.message, "The message to send")->required();
  send->add_flag("--binary", o.binary, "Send a binary frame (default: text)");
  send->add_flag("--hex", o.hex, "--message is hex; send those bytes as a binary frame");
  send->add_option("--count", o.count, "How many times to send it (one reply expected per message)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  o.timeout = std::chrono::seconds(timeout_s);

  auto target = make_target(o);
  if (!target) return exit_config;
  asio::io_context io;
  int rc = exit_config;
  auto run = listen->parsed() ? run_listen(o, *target) : run_send(o, *target);
  asio::co_spawn(io, std::move(run), [&](std::exception_ptr e, int code) {
    rc = code;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      fail_line(std::string("failed: ") + ex.what());
      rc = exit_relay;
    }
  });
  io.run();
  return rc;
}

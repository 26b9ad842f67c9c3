// net/h2_gateway: an HTTP/2 stream read and written as one HTTP/1.1 exchange (see h2_gateway.hpp).
#include "net/h2_gateway.hpp"

#include "net/byte_stream_impl.hpp"
#include "proto/encoding.hpp"

#include <charconv>
#include <cstring>

namespace hc::net {
namespace {

// A fixed key: an HTTP/2 WebSocket has none (RFC 8441 §5), the relay's upgrade path wants one, and
// its Sec-WebSocket-Accept never leaves this gateway.
constexpr std::string_view placeholder_key = "AAAAAAAAAAAAAAAAAAAAAA==";

bool connection_level(std::string_view name) {
  for (std::string_view n : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
                             "sec-websocket-accept", "te", "trailer"})
    if (proto::iequals(name, n)) return true;
  return false;
}

std::string hex(std::size_t n) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, n, 16);
  return std::string(buf, r.ptr);
}

// Undoes the chunked encoding of the body the handler writes (our own, well-formed).
class unchunker {
 public:
  // Appends the data bytes in `in` to `out`; false once the last chunk has been seen.
  bool feed(std::string_view in, std::string& out) {
    for (std::size_t i = 0; i < in.size();) {
      switch (state_) {
        case state::size_line: {
          auto eol = in.find('\n', i);
          line_.append(in.substr(i, eol == std::string_view::npos ? std::string_view::npos : eol - i));
          if (eol == std::string_view::npos) return true;
          i = eol + 1;
          std::size_t size = 0;
          std::from_chars(line_.data(), line_.data() + line_.size(), size, 16);
          line_.clear();
          remaining_ = size;
          state_ = size == 0 ? state::trailer : state::data;
          break;
        }
        case state::data: {
          std::size_t n = std::min<std::size_t>(remaining_, in.size() - i);
          out.append(in.substr(i, n));
          i += n;
          remaining_ -= n;
          if (remaining_ == 0) state_ = state::data_end;
          break;
        }
        case state::data_end: {
          auto eol = in.find('\n', i);
          if (eol == std::string_view::npos) return true;
          i = eol + 1;
          state_ = state::size_line;
          break;
        }
        case state::trailer: {
          auto eol = in.find('\n', i);
          line_.append(in.substr(i, eol == std::string_view::npos ? std::string_view::npos : eol - i));
          if (eol == std::string_view::npos) return true;
          i = eol + 1;
          bool empty = line_.empty() || line_ == "\r";
          line_.clear();
          if (empty) {
            state_ = state::done;
            return false;
          }
          break;
        }
        case state::done:
          return false;
      }
    }
    return state_ != state::done;
  }

 private:
  enum class state { size_line, data, data_end, trailer, done };
  state state_ = state::size_line;
  std::string line_;
  std::size_t remaining_ = 0;
};

struct http1_exchange_impl final : byte_stream::impl {
  explicit http1_exchange_impl(h2_stream s)
      : stream(std::move(s)), unused_socket(stream.executor()), remote(stream.remote_endpoint()) {
    translate_request();
  }
  ~http1_exchange_impl() override { stream.reset(); }

  // --- the request, as HTTP/1.1 ---
  void translate_request() {
    const auto head = stream.take_peer_head();
    std::string method{find_header(head, ":method")};
    std::string path{find_header(head, ":path")};
    std::string protocol{find_header(head, ":protocol")};
    std::string authority{find_header(head, ":authority")};
    if (authority.empty()) authority = std::string(find_header(head, "host"));
    if (method == "CONNECT" && !proto::iequals(protocol, "websocket")) {
      refuse(501, "This relay takes CONNECT only as a WebSocket (RFC 8441, :protocol websocket)");
      return;
    }
    if (path.empty() || (path.front() != '/' && path != "*")) {
      refuse(400, "The request has no :path");
      return;
    }
    websocket = method == "CONNECT";
    inbound = (websocket ? "GET" : method) + " " + path + " HTTP/1.1\r\nHost: " + authority + "\r\n";
    std::string cookies;
    bool has_length = false;
    for (const auto& [name, value] : head) {
      if (name.starts_with(':')) continue;
      if (name == "cookie") {  // HTTP/2 may split it (RFC 9113 §8.2.3)
        cookies += (cookies.empty() ? "" : "; ") + value;
        continue;
      }
      if (name == "host" || connection_level(name)) continue;
      if (name == "content-length") has_length = true;
      inbound += name + ": " + value + "\r\n";
    }
    if (!cookies.empty()) inbound += "cookie: " + cookies + "\r\n";
    if (websocket) {
      inbound += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
      inbound += placeholder_key;
      inbound += "\r\n";
      if (find_header(head, "sec-websocket-version").empty()) inbound += "Sec-WebSocket-Version: 13\r\n";
      body = body_form::raw;
    } else if (has_length) {
      body = body_form::raw;
    } else if (!stream.peer_ended()) {
      inbound += "Transfer-Encoding: chunked\r\n";
      body = body_form::chunked;
    }
    inbound += "\r\n";
  }

  // Answered at the first read (a constructor cannot write); the handler then reads eof.
  void refuse(int status, std::string text) {
    refusal_status = status;
    refusal = std::move(text) + "\n";
    body = body_form::none;
  }

  task<> send_refusal() {
    header_list fields{{"content-type", "text/plain; charset=utf-8"}};
    stream.respond(refusal_status, fields);
    std::array<asio::const_buffer, 1> one{asio::buffer(refusal)};
    co_await stream.write(one);
    stream.close();
    refusal_status = 0;
  }

  std::size_t hand_out(asio::mutable_buffer b) {
    std::size_t n = std::min(b.size(), inbound.size() - inbound_pos);
    std::memcpy(b.data(), inbound.data() + inbound_pos, n);
    inbound_pos += n;
    if (inbound_pos == inbound.size()) {
      std::string().swap(inbound);  // the head is read once: its room is not kept for the stream's life
      inbound_pos = 0;
    }
    return n;
  }

  // Once the head is read, a WebSocket's or a sized body's bytes are the stream's own: no frame
  // of ours waits in between (an idle tunnel leg keeps one read waiting for its whole life).
  task<io_result> read_some(asio::mutable_buffer b) override {
    if (!refusal_status && inbound_pos == inbound.size() && body == body_form::raw)
      return stream.read_some(b);
    return translated_read(b);
  }

  task<io_result> translated_read(asio::mutable_buffer b) {
    if (refusal_status) co_await send_refusal();
    if (inbound.size() > inbound_pos) co_return io_result{{}, hand_out(b)};
    switch (body) {
      case body_form::none:
        co_return io_result{asio::error::eof, 0};
      case body_form::raw:
        co_return co_await stream.read_some(b);
      case body_form::chunked:
        break;
    }
    std::string piece(std::max<std::size_t>(b.size(), 64), '\0');
    auto r = co_await stream.read_some(asio::buffer(piece));
    if (r.ec == asio::error::eof) {
      inbound = "0\r\n\r\n";
      body = body_form::none;
    } else if (r.ec) {
      co_return r;
    } else {
      inbound = hex(r.bytes) + "\r\n" + piece.substr(0, r.bytes) + "\r\n";
    }
    co_return io_result{{}, hand_out(b)};
  }

  io_result read_available(asio::mutable_buffer b) override {
    if (inbound.size() > inbound_pos) return io_result{{}, hand_out(b)};
    if (body == body_form::raw) return stream.read_available(b);
    return io_result{};
  }

  // --- the response, from HTTP/1.1 ---
  task<io_result> write(std::span<const asio::const_buffer> bufs) override {
    if (head_sent && !unchunking) return stream.write(bufs);
    return translated_write(bufs);
  }

  task<io_result> translated_write(std::span<const asio::const_buffer> bufs) {
    std::size_t total = 0;
    std::string incoming;
    for (const auto& b : bufs) total += b.size();
    for (const auto& b : bufs) incoming.append(static_cast<const char*>(b.data()), b.size());
    std::string_view rest = incoming;
    // Interim answers (100 Continue) have no place in an HTTP/2 response here: the peer sends its
    // body without waiting for one. They are left out; the final head follows them.
    while (!head_sent) {
      head_text.append(rest);
      auto end = head_text.find("\r\n\r\n");
      if (end == std::string::npos) co_return io_result{{}, total};
      incoming = head_text.substr(end + 4);
      head_text.resize(end + 2);
      rest = incoming;
      if (!interim(head_text)) {
        send_head();
        std::string().swap(head_text);
        break;
      }
      head_text.clear();
    }
    std::string data;
    bool last_chunk = false;
    if (unchunking) {
      last_chunk = !chunks.feed(rest, data);
      rest = data;
    }
    if (!rest.empty()) {
      std::array<asio::const_buffer, 1> one{asio::buffer(rest.data(), rest.size())};
      auto w = co_await stream.write(one);
      if (w.ec) co_return w;
    }
    if (last_chunk) stream.end();  // after the data it ends
    co_return io_result{{}, total};
  }

  // A 1xx other than 101 ("HTTP/1.1 100 Continue").
  static bool interim(std::string_view head) {
    return head.size() >= 12 && head[9] == '1' && head.substr(9, 3) != "101";
  }

  void send_head() {
    head_sent = true;
    // "HTTP/1.1 200 OK\r\n" then "Name: value\r\n" lines.
    auto line_end = head_text.find("\r\n");
    std::string_view status_line(head_text.data(), line_end);
    int status = 502;
    if (status_line.size() >= 12) std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
    if (status == 101 && websocket) status = 200;
    header_list fields;
    std::string named_by_connection;
    for (auto pos = line_end + 2; pos < head_text.size();) {
      auto eol = head_text.find("\r\n", pos);
      std::string_view line(head_text.data() + pos, eol - pos);
      pos = eol + 2;
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = proto::to_lower(line.substr(0, colon));
      auto value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      if (name == "connection") named_by_connection += "," + proto::to_lower(value) + ",";
      if (name == "transfer-encoding" && proto::to_lower(value).find("chunked") != std::string::npos)
        unchunking = true;
      if (connection_level(name)) continue;
      fields.emplace_back(std::move(name), std::string(value));
    }
    std::erase_if(fields, [&](const auto& f) {
      return named_by_connection.find("," + f.first + ",") != std::string::npos;
    });
    stream.respond(status, fields);
  }

  tcp::socket& socket() override { return unused_socket; }
  bool is_tls() const override { return stream.over_tls(); }
  task<error_code> handshake(bool, std::string_view) override {
    co_return asio::error::operation_not_supported;
  }
  void shutdown_send() override { stream.end(); }
  bool is_open() override { return stream.is_open(); }
  tcp::endpoint remote_endpoint() override { return remote; }
  void close_transport(bool with_reset) override { with_reset ? stream.reset() : stream.close(); }
  void reset_on_abandon() override {}

  enum class body_form { none, raw, chunked };
  h2_stream stream;
  tcp::socket unused_socket;
  tcp::endpoint remote;
  bool websocket = false;
  int refusal_status = 0;  // a request the gateway answers itself
  std::string refusal;
  body_form body = body_form::none;
  std::string inbound;  // request bytes in HTTP/1.1 form not yet read
  std::size_t inbound_pos = 0;
  std::string head_text;  // the response head as written so far
  bool head_sent = false;
  bool unchunking = false;
  unchunker chunks;
};

}  // namespace

byte_stream as_http1_exchange(h2_stream stream) {
  return byte_stream::adopt(std::make_unique<http1_exchange_impl>(std::move(stream)));
}

}  // namespace hc::net

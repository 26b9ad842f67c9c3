// relay/http_mode/relayed_request: relay_http_request, one HTTP request relayed to a listener
// (protocol doc §6), in steps: admit (Send unless the hybrid connection lets callers in without
// a token; a listener), hand over (a small request, at most 64 KiB of body with a known length,
// goes whole on the listener's control channel: the request message, then its body as one binary
// message; any other goes as address and id only, and the listener dials the address to fetch the
// request, whose body streams there as it arrives), and answer (the listener's response from
// the control channel or from the request's rendezvous connection, streamed to the caller,
// chunked). The listener has settings.http_answer_timeout to answer and as long for each next
// piece of its body (504 / cut). The caller never sees the relay's credentials or hop-by-hop
// headers go through; both directions gain Via.
#include "relay/http_mode/relayed_request.hpp"

#include "net/clock.hpp"
#include "net/deadline.hpp"
#include "net/limits.hpp"
#include "net/ws_channel.hpp"
#include "proto/encoding.hpp"
#include "relay/gestures.hpp"
#include "relay/listener_choice.hpp"
#include "relay/model/authorizer.hpp"
#include "relay/refuse.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hc::relay {
namespace {

// A streamed request body, once the first settings.http_answer_timeout has passed, must average
// at least this many bytes per second (a caller trickling its body holds a listener's request).
constexpr std::uint64_t min_body_rate = 1024;

// Protocol doc §6.2: what may travel on the control channel.
constexpr std::size_t control_body_limit = 64 * 1024;
constexpr std::size_t control_head_limit = 32 * 1024;

// RFC 9110 §7.6.1: headers of one connection, never passed on (either way), and the ones the
// relay writes itself (Host, Content-Length).
bool is_connection_header(std::string_view name, std::string_view connection_option_list) {
  for (std::string_view h : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                             "Transfer-Encoding", "Upgrade", "Content-Length", "Host", "Close", "Expect"})
    if (proto::iequals(name, h)) return true;
  std::size_t at = 0;
  while (at < connection_option_list.size()) {
    auto comma = connection_option_list.find(',', at);
    auto item = proto::trim_space(connection_option_list.substr(
        at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    if (!item.empty() && proto::iequals(item, name)) return true;
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return false;
}

// An existing Via with this relay added (RFC 9110 §7.6.3).
std::string via_with(std::string_view existing, std::string_view host) {
  std::string via = "1.1 " + std::string(host);
  return existing.empty() ? via : std::string(existing) + ", " + via;
}

proto::header_list headers_for_listener(const net::http_request& request, bool authorization_consumed,
                                        std::string_view host) {
  proto::header_list out;
  auto options = request.header("Connection");
  for (auto& [k, v] : headers_without_credentials(request, authorization_consumed))
    if (!is_connection_header(k, options) && !proto::iequals(k, "Via"))
      out.emplace_back(std::move(k), std::move(v));
  out.emplace_back("Via", via_with(request.header("Via"), host));
  return out;
}

// RFC 9110 §5.1, §5.5: a header the caller may be sent as the listener gave it.
bool is_token(std::string_view s) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           extra.find(c) != std::string_view::npos;
  });
}
bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}
bool is_digits(std::string_view s) {
  return !s.empty() && s.size() <= 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Writes `bytes` to the caller; a caller that does not take them within `limit` loses its
// connection. False when the write failed.
net::task<bool> write_within(net::byte_stream& stream, std::string_view bytes,
                             std::chrono::milliseconds limit) {
  auto ex = co_await net::asio::this_coro::executor;
  net::deadline slow(ex, limit, [&stream] { stream.close(); });
  auto w = co_await stream.write(net::asio::buffer(bytes.data(), bytes.size()));
  co_return !w.ec;
}

// The caller's side of the answer: the head once, then body pieces, chunked for HTTP/1.1 (the
// length is not known up front), until the end for HTTP/1.0 (then the connection closes).
// Every write gets answer_timeout; a caller that does not take it loses its connection.
class caller_answer {
 public:
  caller_answer(relayed_call& call, std::chrono::milliseconds timeout)
      : call_(call),
        timeout_(timeout),
        head_request_(call.request.method == "HEAD"),
        chunked_(call.request.version >= 11) {}

  bool started() const { return started_; }
  // Whether the connection can carry the next request once this answer has ended.
  bool reusable() const { return ended_ && !close_delimited_ && !call_.last_on_connection; }

  // `length`: the body's size when the whole body is at hand (a control-channel response), else
  // it streams.
  net::task<bool> head(const proto::response_message& r, std::optional<std::size_t> length = std::nullopt) {
    started_ = true;
    no_body_ = head_request_ || r.status < 200 || r.status == 204 || r.status == 304;
    proto::header_list headers;
    std::string listener_via, listener_length;
    for (const auto& [k, v] : r.headers) {
      if (!is_token(k) || !is_field_value(v)) {
        spdlog::info("request {}: the listener's response header {} is not valid HTTP; left out",
                     call_.tracking_id, proto::printable(k));
        continue;
      }
      if (proto::iequals(k, "Via")) listener_via = v;
      if (proto::iequals(k, "Content-Length")) listener_length = v;
      if (!is_connection_header(k, {}) && !proto::iequals(k, "Via")) headers.emplace_back(k, v);
    }
    headers.emplace_back("Via", via_with(listener_via, call_.ns->host()));
    bool has_body = r.body && (!length || *length > 0);
    if (head_request_ && is_digits(listener_length)) {
      headers.emplace_back("Content-Length", listener_length);  // what a GET would carry
    } else if (no_body_) {
      // no length: none follows
    } else if (!has_body) {
      headers.emplace_back("Content-Length", "0");
    } else if (length) {
      headers.emplace_back("Content-Length", std::to_string(*length));
      sized_ = true;
    } else if (chunked_) {
      headers.emplace_back("Transfer-Encoding", "chunked");
    } else {
      close_delimited_ = true;  // HTTP/1.0: the body ends with the connection
    }
    if (close_delimited_ || call_.last_on_connection || !call_.request.keep_alive ||
        call_.reader.body_pending())
      headers.emplace_back("Connection", "close");
    if (!has_body || no_body_) ended_ = true;
    auto text = net::format_response(r.status, status_line_text(r.description), headers);
    // format_response adds Content-Length: 0 when none is given; a streamed body must not have one.
    if (!ended_ || head_request_) text = strip_added_length(std::move(text), headers);
    co_return co_await write(text);
  }

  net::task<bool> piece(std::string_view data) {
    if (no_body_ || data.empty()) co_return true;
    if (sized_ || !chunked_) co_return co_await write(data);
    std::string framed = to_hex(data.size()) + "\r\n";
    framed.append(data);
    framed += "\r\n";
    co_return co_await write(framed);
  }

  net::task<bool> end() {
    if (ended_) co_return true;
    ended_ = true;
    if (no_body_ || sized_ || !chunked_) co_return true;
    co_return co_await write("0\r\n\r\n");
  }

 private:
  static std::string to_hex(std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    do {
      out.insert(out.begin(), digits[n % 16]);
      n /= 16;
    } while (n != 0);
    return out;
  }

  static std::string strip_added_length(std::string text, const proto::header_list& headers) {
    if (net::has_header(headers, "Content-Length")) return text;
    auto at = text.find("\r\nContent-Length: 0\r\n");
    if (at != std::string::npos) text.erase(at, std::string_view("\r\nContent-Length: 0").size());
    return text;
  }

  net::task<bool> write(std::string_view bytes) {
    bool written = co_await write_within(call_.stream, bytes, timeout_);
    co_return written;
  }

  relayed_call& call_;
  std::chrono::milliseconds timeout_;
  bool head_request_;
  bool chunked_;
  bool no_body_ = false;
  bool sized_ = false;            // Content-Length sent
  bool close_delimited_ = false;  // neither length nor chunks: the body ends with the connection
  bool started_ = false;
  bool ended_ = false;
};

// One relayed request from its admission to the end of its answer.
class relayed_exchange {
 public:
  relayed_exchange(relay_context& ctx, relayed_call& call)
      : ctx_(ctx), call_(call), answer_(call, ctx.settings.http_answer_timeout) {}

  net::task<bool> run() {
    entity_ = call_.entity;
    bool authorization_consumed = false;
    if (entity_->record.requires_client_authorization) {
      auto token = token_from(call_.request, call_.target.token);
      auto auth =
          authorize(*call_.ns, entity_.get(), call_.target.path, proto::rights::send, token, net::unix_now());
      if (!auth) {
        ctx_.metrics.auth_failure("request", auth.error().status);
        ctx_.sources.record_failure(call_.source);
        co_return co_await fail(auth.error().status == 401 ? "unauthorized" : "forbidden", auth.error());
      }
      authorization_consumed =
          token_source_of(call_.request, call_.target.token) == token_source::authorization;
    }
    auto length = call_.reader.content_length();
    if (length && *length > ctx_.settings.max_relayed_body_bytes)
      co_return co_await fail("too_large", body_too_large());
    auto elsewhere = co_await listeners_elsewhere(ctx_, *call_.ns, *entity_);
    if (entity_->live->count() == 0 && elsewhere.empty())
      co_return co_await fail("no_listener",
                              proto::error::not_found("There are no listeners connected for the endpoint"));

    auto ex = co_await net::asio::this_coro::executor;
    exchange_ =
        std::make_shared<request_exchange>(ex, call_.tracking_id, call_.ns->record.name, entity_->name());
    key_ = proto::random_hex(16);  // 128-bit capability in the request's address
    ctx_.requests.add(key_, exchange_);
    auto address_target = call_.target;
    address_target.app_query.clear();
    message_.id = call_.tracking_id;
    message_.address = rendezvous_address(ctx_, call_.ns->host(), address_target, proto::hc_action::request,
                                          message_.id, key_);
    message_.method = call_.request.method;
    message_.target =
        "/" + call_.target.raw_path + (call_.target.app_query.empty() ? "" : "?" + call_.target.app_query);
    message_.remote = proto::remote_endpoint{call_.source.to_string(), call_.stream.remote_endpoint().port()};
    message_.headers = headers_for_listener(call_.request, authorization_consumed, call_.ns->host());
    message_.body = call_.reader.body_pending();

    bool small = !call_.reader.chunked() && length.value_or(0) <= control_body_limit &&
                 proto::serialize(message_).size() <= control_head_limit;
    bool reusable = false;
    bool handed = true;
    if (small) handed = co_await read_small_body();
    if (handed) handed = co_await hand_over(small, elsewhere);
    if (handed) reusable = co_await answer();
    if (answering_) answering_->take_request(message_.id);  // answered, or no longer awaited
    if (reusable && call_.reader.body_pending()) {          // answered without its body (hcm's 501)
      co_await discard_body_briefly();
      call_.stream.close();
    }
    ctx_.requests.remove(key_);
    exchange_->abandon();
    bool more = reusable && answer_.reusable() && call_.request.keep_alive && !call_.reader.body_pending();
    co_return more;
  }

 private:
  proto::error body_too_large() const {
    return proto::error{413, proto::errc::too_large,
                        "The request body is larger than this relay passes on (" +
                            std::to_string(ctx_.settings.max_relayed_body_bytes) + " bytes)"};
  }

  // The relay's own answer (an error status with its sentence); the connection ends with it.
  net::task<bool> fail(std::string_view outcome, const proto::error& e) {
    ctx_.metrics.http_request(outcome);
    if (answer_.started()) {  // the listener's head is out: all the caller can learn is a cut body
      spdlog::info("request {} hc={}: cut short: {}", call_.tracking_id, entity_ ? entity_->name() : "",
                   e.message);
      call_.stream.close();
      co_return false;
    }
    auto text = error_response(e, call_.ns->host(), call_.target.path, call_.tracking_id);
    co_await write_within(call_.stream, text, ctx_.settings.http_answer_timeout);
    co_await discard_body_briefly();
    call_.stream.close();
    co_return false;
  }

  // A caller still sending its body when it is refused would see a reset instead of the answer:
  // what it sends next is read and dropped for a moment.
  net::task<> discard_body_briefly() {
    auto ex = co_await net::asio::this_coro::executor;
    net::deadline enough(ex, std::chrono::seconds(2), [this] { call_.stream.close(); });
    std::string piece;
    for (std::uint64_t dropped = 0; call_.reader.body_pending() && dropped < 4 * 1024 * 1024;) {
      auto read = co_await call_.reader.read_body_piece(call_.stream, call_.leftover, piece, ~std::size_t{0});
      if (!read || piece.empty()) break;
      dropped += piece.size();
    }
  }

  // RFC 9110 §10.1.1: a caller that waits for 100 Continue before its body gets it once.
  net::task<> answer_continue_if_asked() {
    if (continue_sent_ || !call_.reader.body_pending() ||
        !proto::iequals(call_.request.header("Expect"), "100-continue"))
      co_return;
    continue_sent_ = true;
    co_await write_within(call_.stream, "HTTP/1.1 100 Continue\r\n\r\n", ctx_.settings.http_answer_timeout);
  }

  // A small request's body, whole, before it goes on a control channel. False when answered.
  net::task<bool> read_small_body() {
    co_await answer_continue_if_asked();
    if (!call_.reader.body_pending()) co_return true;
    auto ex = co_await net::asio::this_coro::executor;
    net::deadline slow(ex, ctx_.settings.http_answer_timeout, [this] { call_.stream.close(); });
    auto read =
        co_await call_.reader.read_body(call_.stream, call_.leftover, call_.request, control_body_limit);
    if (read.bad) co_return co_await fail("bad_request", *read.bad);
    if (read.ec) co_return caller_gone();
    message_.body = !call_.request.body.empty();
    co_return true;
  }

  // To one listener after another until one takes it: a small request whole on a control channel
  // of ours (the request message, then its body as one binary message); any other, and every
  // request for a listener on another node, as address and id only: the listener fetches it over
  // the request rendezvous on this node (answer() sends it there). False when answered.
  net::task<bool> hand_over(bool small, const std::vector<cluster_listener>& elsewhere) {
    tried_listeners tried;
    while (auto chosen = choose_listener(*entity_, elsewhere, {}, {}, tried)) {
      tried.add(*chosen);
      fetch_on_rendezvous_ = !small || !chosen->local;
      std::string text = fetch_on_rendezvous_ ? proto::serialize(address_only()) : proto::serialize(message_);
      bool taken = false;
      if (!chosen->local) {
        const forwarded_accept forwarded{
            ctx_.cluster->node_id(), call_.ns->record.name, entity_->name(), chosen->remote.id, key_,
            std::move(text)};
        taken = co_await ctx_.cluster->forward(chosen->remote.node, forwarded);
        if (taken) ctx_.metrics.cluster_accept("sent");
      } else if (chosen->local->expect_response(message_.id, exchange_)) {
        std::vector<std::pair<proto::opcode, std::string>> frames;
        frames.emplace_back(proto::opcode::text, std::move(text));
        if (!fetch_on_rendezvous_ && message_.body)
          frames.emplace_back(proto::opcode::binary, call_.request.body);
        auto& l = *chosen->local;
        taken = co_await net::asio::co_spawn(l.executor(), l.send_in_order(std::move(frames)),
                                             net::asio::use_awaitable);
        if (taken)
          answering_ = chosen->local;
        else
          l.take_request(message_.id);  // forgotten there: the request goes elsewhere
      }
      if (taken) co_return true;
      spdlog::info("request {} hc={}: listener {} could not take it; trying another", message_.id,
                   entity_->name(), chosen->id());
    }
    const proto::error none{502, proto::errc::bad_gateway,
                            "The listeners of the endpoint (" + std::to_string(tried.size()) +
                                ") went away or could not take the request"};
    co_return co_await fail("listener_lost", none);
  }

  proto::request_message address_only() const {
    proto::request_message only;
    only.id = message_.id;
    only.address = message_.address;
    return only;
  }

  bool caller_gone() {
    ctx_.metrics.http_request("caller_gone");
    call_.stream.close();
    return false;
  }

  net::task<std::optional<exchange_event>> next_event() {
    auto until = std::chrono::steady_clock::now() + ctx_.settings.http_answer_timeout;
    auto e = co_await exchange_->next(until);
    co_return e;
  }

  net::task<bool> timed_out() {
    auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(ctx_.settings.http_answer_timeout).count();
    const proto::error late{
        504, proto::errc::timeout,
        "The listener did not answer the request within " + std::to_string(seconds) + " seconds"};
    co_return co_await fail("timeout", late);
  }

  // 1xx heads are not relayed: the caller needs one final answer.
  net::task<bool> final_status_missing(int status) {
    co_return co_await lost("The listener answered with status " + std::to_string(status) +
                            ", which does not end a request");
  }

  net::task<bool> lost(const std::string& why) {
    const proto::error gone{502, proto::errc::bad_gateway, why};
    co_return co_await fail("listener_lost", gone);
  }

  // The listener's answer, from its control channel or its rendezvous connection.
  net::task<bool> answer() {
    auto e = co_await next_event();
    while (e && e->from && e->from != answering_.get()) {  // news of a listener tried before
      auto next = co_await next_event();
      e = std::move(next);
    }
    if (!e) co_return co_await timed_out();
    if (e->what == exchange_event::kind::lost) co_return co_await lost(e->text);
    if (e->what == exchange_event::kind::rendezvous) co_return co_await answer_on_rendezvous(std::move(*e));
    // A listener may answer on its control channel without fetching the request (hcm's 501): the
    // body is then never read, and the caller's connection ends with the answer.
    // The response on the control channel; its body, when it has one, is the next event (at
    // most 64 KiB: the caller gets it whole, with its length).
    if (e->head.status < 200) co_return co_await final_status_missing(e->head.status);
    std::string body;
    if (e->head.body) {
      auto next = co_await next_event();
      if (!next) co_return co_await timed_out();
      if (next->what != exchange_event::kind::body) co_return co_await lost(next->text);
      body = std::move(next->text);
    }
    bool written = co_await answer_.head(e->head, body.size());
    if (written) written = co_await answer_.piece(body);
    if (!written) co_return caller_gone();
    bool ended = co_await answer_.end();
    if (!ended) co_return caller_gone();
    ctx_.metrics.http_request("answered");
    co_return true;
  }

  // The listener dialed the request's address: 101, the request when it is fetched there, and
  // the response read from there. The rendezvous closes with the answer (.NET does the same).
  net::task<bool> answer_on_rendezvous(exchange_event e) {
    auto& leg = *e.leg;
    auto upgrade = net::format_upgrade_response(e.leg_key, {});
    auto ex = co_await net::asio::this_coro::executor;
    std::optional<net::deadline> quiet;  // the listener's time for each step on the leg
    auto arm = [&] {
      quiet.emplace(ex, ctx_.settings.http_answer_timeout, [&leg] { leg.stream().close(); });
    };
    arm();
    if (auto w = co_await leg.stream().write(net::asio::buffer(upgrade)); w.ec)
      co_return co_await lost("The listener dropped the request's rendezvous connection");
    bool ok = true;
    if (fetch_on_rendezvous_) {
      auto sent = co_await send_request_on(leg, arm);
      if (sent) {
        ok = false;
        if (sent->status == 0)
          caller_gone();
        else
          co_await fail(sent->status == 413   ? "too_large"
                        : sent->status == 408 ? "too_slow"
                        : sent->status == 400 ? "bad_request"
                                              : "listener_lost",
                        *sent);
      }
    }
    if (ok) ok = co_await read_response_on(leg, arm);
    arm();  // the Close too gets the listener's time, no more
    co_await leg.write_close(1000, "");
    quiet.reset();
    leg.stream().close();
    co_return ok;
  }

  bool too_slow(std::chrono::steady_clock::time_point started, std::uint64_t received) const {
    auto late = std::chrono::steady_clock::now() - started - ctx_.settings.http_answer_timeout;
    if (late <= std::chrono::steady_clock::duration::zero()) return false;
    return received < std::uint64_t(std::chrono::duration<double>(late).count() * double(min_body_rate));
  }

  // The whole request on the rendezvous: its message, then its body as one binary message in as
  // many frames as it arrives in. An error to answer the caller with (status 0: the caller went
  // away) or nullopt.
  template <class Arm>
  net::task<std::optional<proto::error>> send_request_on(net::ws_connection& leg, Arm& arm) {
    auto text = co_await leg.write_text(proto::serialize(message_));
    if (text)
      co_return proto::error{502, proto::errc::bad_gateway,
                             "The listener dropped the request's rendezvous connection"};
    if (!message_.body) co_return std::nullopt;
    if (!call_.reader.body_pending()) {  // read already (a small request for another node's listener)
      auto whole =
          std::span(reinterpret_cast<std::uint8_t*>(call_.request.body.data()), call_.request.body.size());
      auto ec = co_await leg.write_frame(proto::opcode::binary, true, whole);
      if (ec)
        co_return proto::error{
            502, proto::errc::bad_gateway,
            "The listener dropped the request's rendezvous connection while the body was sent"};
      co_return std::nullopt;
    }
    co_await answer_continue_if_asked();
    auto ex = co_await net::asio::this_coro::executor;
    auto op = proto::opcode::binary;
    std::string piece;
    auto started = std::chrono::steady_clock::now();
    std::uint64_t received = 0;
    for (;;) {
      std::optional<net::deadline> slow;
      slow.emplace(ex, ctx_.settings.http_answer_timeout, [this] { call_.stream.close(); });
      auto read = co_await call_.reader.read_body_piece(call_.stream, call_.leftover, piece,
                                                        ctx_.settings.max_relayed_body_bytes);
      slow.reset();
      if (read.bad) {
        co_await leg.write_close(1009, "The request body was refused by the relay");
        co_return *read.bad;
      }
      if (read.ec) {
        co_await leg.write_close(1001, "The caller went away");
        co_return proto::error{0, proto::errc::bad_gateway, "the caller went away"};
      }
      received += piece.size();
      if (too_slow(started, received)) {
        co_await leg.write_close(1001, "The caller sent its request body too slowly");
        co_return proto::error{408, proto::errc::timeout,
                               "The request body arrived slower than " + std::to_string(min_body_rate) +
                                   " bytes per second; send it faster or in one piece"};
      }
      bool last = piece.empty();
      arm();
      auto bytes = std::span(reinterpret_cast<std::uint8_t*>(piece.data()), piece.size());
      auto ec = co_await leg.write_frame(op, last, bytes);
      if (ec)
        co_return proto::error{
            502, proto::errc::bad_gateway,
            "The listener dropped the request's rendezvous connection while the body was sent"};
      if (last) co_return std::nullopt;
      op = proto::opcode::continuation;
    }
  }

  // The response message, then its body frames as they come.
  template <class Arm>
  net::task<bool> read_response_on(net::ws_connection& leg, Arm& arm) {
    net::ws_channel channel(leg, proto::max_control_message_bytes);
    proto::response_message head;
    for (;;) {
      auto read = co_await channel.read_message();
      if (read.what != net::channel_read::kind::message)
        co_return co_await lost("The listener closed the request's rendezvous connection without answering");
      if (read.op == proto::opcode::binary) continue;  // stray empty body frames
      auto command = proto::parse_listener_command(read.data);
      auto* response = command ? std::get_if<proto::response_message>(&*command) : nullptr;
      if (!response || response->request_id != message_.id)
        co_return co_await lost(
            "The listener sent something other than the response to this request on its "
            "rendezvous connection");
      head = std::move(*response);
      break;
    }
    arm();
    if (head.status < 200) co_return co_await final_status_missing(head.status);
    bool written = co_await answer_.head(head);
    if (!written) co_return caller_gone();
    if (head.body) {
      auto streamed = co_await stream_body(leg, arm);
      if (!streamed) co_return false;
    }
    bool ended = co_await answer_.end();
    if (!ended) co_return caller_gone();
    ctx_.metrics.http_request("answered");
    co_return true;
  }

  template <class Arm>
  net::task<bool> stream_body(net::ws_connection& leg, Arm& arm) {
    bool in_message = false;
    std::string buffer(64 * 1024, '\0');
    for (;;) {
      auto [ec, h] = co_await leg.read_header();
      if (ec) co_return co_await lost("The listener's rendezvous connection ended inside the response body");
      if (proto::is_control(h.op)) {
        auto control = co_await net::answer_control(leg, h);
        if (control.what != net::control_answer::kind::answered)
          co_return co_await lost("The listener closed its rendezvous connection inside the response body");
        continue;
      }
      bool continuation = h.op == proto::opcode::continuation;
      if (continuation != in_message || (!continuation && h.op != proto::opcode::binary))
        co_return co_await lost("The listener sent a response body that is not one binary message");
      in_message = true;
      while (leg.payload_remaining() > 0) {
        auto r = co_await leg.read_payload(net::asio::buffer(buffer));
        if (r.ec)
          co_return co_await lost("The listener's rendezvous connection ended inside the response body");
        bool sent = co_await answer_.piece(std::string_view(buffer.data(), r.bytes));
        if (!sent) co_return caller_gone();
        arm();  // the time the caller took is not the listener's
      }
      arm();
      if (h.fin) co_return true;
    }
  }

  relay_context& ctx_;
  relayed_call& call_;
  caller_answer answer_;
  std::shared_ptr<const hybrid_connection> entity_;
  std::shared_ptr<request_exchange> exchange_;
  std::shared_ptr<listener> answering_;  // ours, when the request went to one of our listeners
  std::string key_;
  proto::request_message message_;
  bool fetch_on_rendezvous_ = false;
  bool continue_sent_ = false;
};

}  // namespace

net::task<bool> relay_http_request(relay_context& ctx, relayed_call& call) {
  relayed_exchange exchange(ctx, call);
  bool reusable = co_await exchange.run();
  co_return reusable;
}

}  // namespace hc::relay

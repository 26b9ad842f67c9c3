// cluster/redis_link: the reconnect loop and the login of one Redis connection (see
// redis_link.hpp).
#include "cluster/redis_link.hpp"

#include "net/backoff.hpp"
#include "net/limits.hpp"
#include "proto/encoding.hpp"

#include <spdlog/spdlog.h>

namespace hc::cluster {
namespace {

using clock = std::chrono::steady_clock;
using command = std::vector<std::string>;

// AUTH [user] password, SELECT db: what every connection sends first, when the URL asks for it.
std::vector<command> login_commands(const redis_endpoint& e) {
  std::vector<command> login;
  if (!e.password.empty()) {
    command auth{"AUTH"};
    if (!e.user.empty()) auth.push_back(e.user);
    auth.push_back(e.password);
    login.push_back(std::move(auth));
  }
  if (e.db != 0) {
    command select{"SELECT", std::to_string(e.db)};
    login.push_back(std::move(select));
  }
  return login;
}

}  // namespace

redis_link::redis_link(const strand& s, redis_endpoint endpoint, std::string use, opening_command opening,
                       message_sink on_message, status_handler on_status)
    : strand_(s),
      endpoint_(std::move(endpoint)),
      use_(std::move(use)),
      opening_(std::move(opening)),
      on_message_(std::move(on_message)),
      on_status_(std::move(on_status)),
      resolver_(s),
      wake_(s) {}

net::task<> redis_link::keep_connected() {
  net::backoff retry(net::limits::redis_reconnect_schedule);
  while (!stopped_) {
    const auto began = clock::now();
    auto why = co_await connect_and_serve();
    if (stopped_) break;
    set_status(false, std::move(why));
    // Connecting takes a few seconds at most: this is about how long the link was up.
    if (clock::now() - began > net::backoff_reset_after) retry.reset();
    co_await sleep(retry.next());
  }
}

void redis_link::stop() {
  stopped_ = true;
  resolver_.cancel();
  wake_.cancel();
  if (current_) current_->drop("the redis client is closed");
}

void redis_link::send(const std::vector<std::string>& args, reply_handler done) {
  if (!takes_commands()) return complete(strand_, std::move(done), redis_reply::unanswered(down_reason()));
  current_->send(args, std::move(done));
}

std::string redis_link::down_reason() const {
  if (stopped_) return "the redis client is closed";
  if (last_error_.empty()) return "the redis " + use_ + " link to " + endpoint_.address() + " is not up yet";
  return "the redis " + use_ + " link is down (" + last_error_ + "); it reconnects by itself";
}

net::task<std::string> redis_link::connect_and_serve() {
  const auto port = std::to_string(endpoint_.port);
  auto [ec, addresses] = co_await resolver_.async_resolve(endpoint_.host, port, net::use_tuple);
  if (stopped_) co_return "the redis client is closed";
  if (ec)
    co_return "cannot resolve the redis host " + proto::quote_for_message(endpoint_.host) + ": " +
        ec.message();
  std::string why;
  for (const auto& entry : addresses) {  // the next address only when connecting to one failed
    current_ = redis_connection::open(strand_, entry.endpoint(), endpoint_.address(), on_message_);
    while (current_->state() == redis_connection::phase::connecting) co_await current_->wait_for_change();
    const bool connected = current_->state() == redis_connection::phase::open;
    if (connected) why = co_await serve(*current_);
    if (!connected) why = current_->end_reason();
    current_.reset();
    takes_commands_ = false;
    if (connected || stopped_) break;
  }
  co_return why;
}

net::task<std::string> redis_link::serve(redis_connection& connection) {
  for (const auto& login : login_commands(endpoint_)) {
    const bool accepted = co_await opening_step(connection, login);
    if (!accepted) co_return connection.end_reason();
  }
  // Computed, marked and sent in one turn of the strand: a subscribe() before it is in the
  // opening command, one after it is sent on its own.
  const auto opening = opening_ ? opening_() : command();
  takes_commands_ = true;
  if (!opening.empty()) {
    const bool accepted = co_await opening_step(connection, opening);
    if (!accepted) co_return connection.end_reason();
  }
  set_status(true, "");
  while (connection.state() == redis_connection::phase::open) co_await connection.wait_for_change();
  co_return connection.end_reason();
}

net::task<bool> redis_link::opening_step(redis_connection& connection, const std::vector<std::string>& args) {
  auto start = [&](reply_handler done) { connection.send(args, std::move(done)); };
  auto reply = co_await await_reply(start);
  if (!reply.failed()) co_return true;
  connection.drop(reply.type == redis_reply::kind::unanswered
                      ? reply.text
                      : "redis at " + endpoint_.address() + " refused " + args.front() + ": " + reply.text);
  co_return false;
}

net::task<> redis_link::sleep(std::chrono::milliseconds d) {
  if (stopped_ || d.count() == 0) co_return;
  wake_.expires_after(d);
  co_await wake_.async_wait(net::use_tuple);
}

void redis_link::set_status(bool up, std::string why) {
  if (up ? up_ : (!up_ && why == last_error_)) return;  // no change
  up_ = up;
  if (up) {
    spdlog::info("redis {} link to {} is up", use_, endpoint_.address());
  } else {
    last_error_ = std::move(why);
    spdlog::warn("redis {} link is down: {}", use_, last_error_);
  }
  on_status_(up_, up_ ? std::string() : last_error_);
}

}  // namespace hc::cluster

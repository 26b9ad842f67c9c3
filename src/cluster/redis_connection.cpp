// cluster/redis_connection: hiredis's event hooks on Asio waits, replies owed in order, the
// watchdog and the one way a connection ends (see redis_connection.hpp). hiredis 0.14's contract,
// as async.c keeps it: add*/del* may be called any number of times (they say what it wants next,
// like libevent's one-shot events); after a failure it runs every reply callback with a null
// reply, then the cleanup hook, then closes the socket and frees the context, all before the
// call that failed (HandleRead, HandleWrite, redisAsyncFree) returns.
#include "cluster/redis_connection.hpp"

#include "net/limits.hpp"
#include "net/spawn.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <strings.h>
#include <boost/asio/append.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <cassert>

namespace hc::cluster {
namespace {

using clock = std::chrono::steady_clock;

std::string milliseconds_text(clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

redis_reply to_reply(const redisReply& r) {
  redis_reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r.integer;
      return out;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(to_reply(*r.element[i]));
      return out;
    default:  // REDIS_REPLY_NIL
      return out;
  }
  out.text.assign(r.str, r.len);  // string, status, error
  return out;
}

std::string text_of(const redisReply& r) {
  return std::string(r.str, r.len);
}

// ["message", channel, payload]: what a subscribed connection receives besides its confirmations.
bool is_message(const redisReply& r) {
  return r.type == REDIS_REPLY_ARRAY && r.elements == 3 && r.element[0]->type == REDIS_REPLY_STRING &&
         text_of(*r.element[0]) == "message" && r.element[1]->type == REDIS_REPLY_STRING &&
         r.element[2]->type == REDIS_REPLY_STRING;
}

// SUBSCRIBE and UNSUBSCRIBE: hiredis routes their replies by channel, one per channel.
bool is_channel_command(const std::string& name) {
  return strcasecmp(name.c_str(), "subscribe") == 0 || strcasecmp(name.c_str(), "unsubscribe") == 0;
}

}  // namespace

// The C functions hiredis calls; ev.data, ac->data and privdata are the redis_connection.
struct hiredis_hooks {
  using wait_type = redis_connection::wait_type;
  static redis_connection& of(void* p) { return *static_cast<redis_connection*>(p); }

  static void add_read(void* p) { of(p).want(wait_type::wait_read); }
  static void del_read(void* p) { of(p).unwant(wait_type::wait_read); }
  static void add_write(void* p) { of(p).want(wait_type::wait_write); }
  static void del_write(void* p) { of(p).unwant(wait_type::wait_write); }
  static void cleanup(void* p) { of(p).context_gone(); }

  static void connected(const redisAsyncContext* ac, int status) {
    if (status == REDIS_OK) of(ac->data).on_connected();  // a failure goes on to cleanup
  }
  // A null reply: the context is being freed; cleanup answers what is still owed.
  static void reply(redisAsyncContext*, void* r, void* privdata) {
    if (r) of(privdata).answer(to_reply(*static_cast<const redisReply*>(r)));
  }
  static void channel_reply(redisAsyncContext*, void* r, void* privdata) {
    if (!r) return;
    auto& reply = *static_cast<const redisReply*>(r);
    auto& connection = of(privdata);
    if (!is_message(reply)) return connection.answer(to_reply(reply));  // a (un)subscribe confirmation
    if (connection.on_message_)
      connection.on_message_(text_of(*reply.element[1]), text_of(*reply.element[2]));
  }
};

void complete(const strand& s, reply_handler done, redis_reply reply) {
  if (done) asio::post(s, asio::append(std::move(done), std::move(reply)));
}

redis_connection::redis_connection(private_tag, const strand& s, std::string name, message_sink on_message)
    : strand_(s),
      name_(std::move(name)),
      on_message_(std::move(on_message)),
      socket_(s),
      watchdog_(s),
      changed_(s) {}

redis_connection::~redis_connection() {
  // Only when the io_context is torn down with the connection open (the watchdog holds it until
  // it ends otherwise).
  if (context_) drop("the connection to redis at " + name_ + " was destroyed");
}

std::shared_ptr<redis_connection> redis_connection::open(const strand& s, const net::tcp::endpoint& address,
                                                         std::string name, message_sink on_message) {
  auto c = std::make_shared<redis_connection>(private_tag{}, s, std::move(name), std::move(on_message));
  const auto ip = address.address().to_string();
  redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), address.port());
  net::error_code ec;
  if (ac && !ac->err) c->socket_.assign(ac->c.fd, ec);
  if (!ac || ac->err || ec) {
    c->phase_ = phase::ended;
    c->end_reason_ = "cannot connect to redis at " + c->name_ + ": " +
                     (!ac       ? std::string("out of memory")
                      : ac->err ? ac->errstr
                                : ec.message());
    if (ac) redisAsyncFree(ac);  // closes the socket
    return c;
  }
  c->context_ = ac;
  ac->data = c.get();
  ac->ev.data = c.get();
  ac->ev.addRead = hiredis_hooks::add_read;
  ac->ev.delRead = hiredis_hooks::del_read;
  ac->ev.addWrite = hiredis_hooks::add_write;
  ac->ev.delWrite = hiredis_hooks::del_write;
  ac->ev.cleanup = hiredis_hooks::cleanup;
  c->connect_deadline_ = clock::now() + net::limits::redis_connect_timeout;
  redisAsyncSetConnectCallback(ac, hiredis_hooks::connected);  // asks for the first write readiness
  asio::co_spawn(s, c->watch_deadlines(), net::log_failure("redis connection watchdog"));
  return c;
}

net::task<> redis_connection::wait_for_change() {
  changed_.expires_at(clock::time_point::max());
  co_await changed_.async_wait(net::use_tuple);
}

void redis_connection::send(const std::vector<std::string>& args, reply_handler done) {
  assert(!args.empty());
  if (phase_ != phase::open) {
    auto why = phase_ == phase::ended ? end_reason_ : "redis at " + name_ + " is still connecting";
    return complete(strand_, std::move(done), redis_reply::unanswered(std::move(why)));
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  const bool channel_command = is_channel_command(args.front());
  const std::size_t replies = channel_command ? args.size() - 1 : 1;
  auto* callback = channel_command ? hiredis_hooks::channel_reply : hiredis_hooks::reply;
  if (replies == 0 || redisAsyncCommandArgv(context_, callback, this, int(argv.size()), argv.data(),
                                            lengths.data()) != REDIS_OK) {
    auto why = "the redis client could not send " + args.front() + " to redis at " + name_;
    return complete(strand_, std::move(done), redis_reply::unanswered(std::move(why)));
  }
  if (owed_.empty()) watchdog_.cancel();  // it now watches this command's deadline
  const auto deadline = clock::now() + net::limits::redis_reply_timeout;
  for (std::size_t i = 1; i < replies; ++i) owed_.push_back({reply_handler(), deadline});
  owed_.push_back({std::move(done), deadline});
}

void redis_connection::drop(std::string why) {
  if (phase_ == phase::ended) return;
  end_reason_ = std::move(why);
  redisAsyncFree(context_);  // runs context_gone() through the cleanup hook, then closes the socket
}

void redis_connection::want(wait_type w) {
  auto& i = interest_for(w);
  i.wanted = true;
  if (i.waiting) return;
  i.waiting = true;
  socket_.async_wait(w, [self = shared_from_this(), w](net::error_code ec) { self->on_ready(w, ec); });
}

void redis_connection::on_ready(wait_type w, net::error_code ec) {
  auto& i = interest_for(w);
  i.waiting = false;
  if (ec || !context_ || !i.wanted) return;
  i.wanted = false;  // hiredis asks again for as long as it wants more
  if (w == wait_type::wait_read)
    redisAsyncHandleRead(context_);
  else
    redisAsyncHandleWrite(context_);
}

void redis_connection::on_connected() {
  phase_ = phase::open;
  note_change();
}

void redis_connection::answer(redis_reply reply) {
  if (owed_.empty()) return;  // hiredis calls back once per command it was given: not reached
  auto done = std::move(owed_.front().done);
  owed_.pop_front();
  complete(strand_, std::move(done), std::move(reply));
}

void redis_connection::context_gone() {
  if (end_reason_.empty()) {
    const redisContext& c = context_->c;
    const std::string what = c.err ? c.errstr : "the server closed the connection";
    end_reason_ =
        (phase_ == phase::connecting ? "cannot connect to redis at " : "lost the connection to redis at ") +
        name_ + ": " + what;
  }
  context_ = nullptr;
  socket_.release();  // hiredis closes it; waits still out come back with operation_aborted
  phase_ = phase::ended;
  for (auto& o : owed_) complete(strand_, std::move(o.done), redis_reply::unanswered(end_reason_));
  owed_.clear();
  note_change();
}

void redis_connection::note_change() {
  changed_.cancel();
  watchdog_.cancel();
}

net::task<> redis_connection::watch_deadlines() {
  auto self = shared_from_this();  // the connection lives until it ends
  while (phase_ != phase::ended) {
    const auto oldest = owed_.empty() ? clock::time_point::max() : owed_.front().deadline;
    watchdog_.expires_at(phase_ == phase::connecting ? connect_deadline_ : oldest);
    co_await watchdog_.async_wait(net::use_tuple);
    const auto now = clock::now();
    if (phase_ == phase::connecting && now >= connect_deadline_)
      drop("no connection to redis at " + name_ + " within " +
           milliseconds_text(net::limits::redis_connect_timeout));
    else if (phase_ == phase::open && !owed_.empty() && now >= owed_.front().deadline)
      drop("no reply from redis at " + name_ + " within " +
           milliseconds_text(net::limits::redis_reply_timeout) +
           "; the connection is dropped and opened again");
  }
}

}  // namespace hc::cluster

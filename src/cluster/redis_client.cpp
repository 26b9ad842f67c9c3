// cluster/redis_client: the two links, the subscriptions they restore, the combined state and
// the shutdown (see redis_client.hpp). Every member of `core` runs on its strand except state();
// the public functions post to it.
#include "cluster/redis_client.hpp"

#include "cluster/redis_link.hpp"
#include "net/spawn.hpp"
#include "proto/encoding.hpp"

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <mutex>

namespace hc::cluster {
namespace {

using command_args = std::vector<std::string>;
using done_handler = asio::any_completion_handler<void()>;

const std::string closed_text = "the redis client is closed";

// Why command() does not send `args`, or empty.
std::string refusal(const command_args& args) {
  if (args.empty()) return "an empty redis command";
  const auto name = proto::to_lower(args.front());
  const auto said = "redis command " + proto::quote_for_message(args.front());
  if (name == "subscribe" || name == "psubscribe" || name == "ssubscribe" || name == "unsubscribe" ||
      name == "punsubscribe" || name == "sunsubscribe" || name == "monitor" ||
      (name == "client" && args.size() > 1 && proto::to_lower(args[1]) == "reply"))
    return said + " takes the connection out of request and reply: use subscribe() and unsubscribe()";
  if (name == "select" || name == "reset" || name == "hello")
    return said + " changes what the client sets up on every connection (login, RESP2, the URL's /db)";
  return {};
}

// Runs `work(core, handler)` on the core's strand; the caller resumes, on its own executor, once
// the handler completes.
template <class Signature, class Core, class Work>
auto on_strand(std::shared_ptr<Core> core, Work work) {
  auto start = [core = std::move(core),
                work = std::move(work)](asio::any_completion_handler<Signature> done) mutable {
    asio::post(core->executor(), [core, work = std::move(work), done = std::move(done)]() mutable {
      work(*core, std::move(done));
    });
  };
  return await_completion<Signature>(std::move(start));
}

}  // namespace

class redis_client::core : public std::enable_shared_from_this<core> {
  // enable_shared_from_this: messages and state changes are posted to the strand and must find
  // the core alive, the link loops hold it until they end, and `closer` knows it weakly.
 public:
  core(asio::any_io_executor ex, redis_endpoint endpoint, state_handler on_state)
      : strand_(asio::make_strand(ex)),
        commands_(strand_, endpoint, "commands", {}, {},
                  [this](bool up, const std::string& why) { on_link_status(up, why); }),
        subscriber_(
            strand_, endpoint, "subscriber", [this] { return subscribe_all(); },
            [this](std::string channel, std::string payload) {
              on_message(std::move(channel), std::move(payload));
            },
            [this](bool up, const std::string& why) { on_link_status(up, why); }),
        on_state_(std::move(on_state)) {}

  const strand& executor() const { return strand_; }

  // Spawns both link loops; after construction (they hold the core).
  void start() {
    asio::use_service<closer>(asio::query(strand_, asio::execution::context)).add(weak_from_this());
    links_running_ = 2;
    for (redis_link* link : {&commands_, &subscriber_}) {
      auto ended = [self = shared_from_this()](std::exception_ptr e) {
        net::log_failure("redis link")(e);
        self->link_ended();
      };
      asio::co_spawn(strand_, keep(shared_from_this(), *link),
                     asio::bind_executor(strand_, std::move(ended)));
    }
  }

  void command(command_args args, reply_handler done) {
    auto refused = closing_ ? closed_text : refusal(args);
    if (!refused.empty())
      return complete(strand_, std::move(done), redis_reply::unanswered(std::move(refused)));
    commands_.send(args, std::move(done));
  }

  void subscribe(std::string channel, message_handler on_message, reply_handler done) {
    if (closing_) return complete(strand_, std::move(done), redis_reply::unanswered(closed_text));
    subscriptions_.insert_or_assign(channel, std::move(on_message));
    const command_args args{"SUBSCRIBE", std::move(channel)};
    subscriber_.send(args, std::move(done));
  }

  void unsubscribe(const std::string& channel) {
    if (subscriptions_.erase(channel) == 0 || !subscriber_.takes_commands()) return;
    const command_args args{"UNSUBSCRIBE", channel};
    subscriber_.send(args, reply_handler());
  }

  // `done` (empty from the destructor) completes once both links have ended.
  void close(done_handler done) {
    closing_ = true;
    closed_.store(true);
    commands_.stop();
    subscriber_.stop();
    if (done) close_waiters_.push_back(std::move(done));
    finish_close();
  }

  redis_state state() const {
    std::lock_guard lock(state_mutex_);
    return state_;
  }
  bool closed() const { return closed_.load(); }  // any thread: close() has run

 private:
  // Asio shuts an io_context's services down before it destroys the work still queued there.
  // When the io_context goes away with clients that were never closed (stopped before their
  // close() ran), this service closes them at that point: the handlers their connections owe are
  // then destroyed with the io_context instead of keeping the client, and themselves, alive.
  class closer final : public asio::execution_context::service {
   public:
    static inline asio::execution_context::id id;
    explicit closer(asio::execution_context& context) : service(context) {}
    void add(std::weak_ptr<core> c) {
      std::lock_guard lock(mutex_);
      std::erase_if(cores_, [](const std::weak_ptr<core>& w) { return w.expired(); });
      cores_.push_back(std::move(c));
    }

   private:
    void shutdown() override {  // no thread runs the io_context any more
      std::vector<std::weak_ptr<core>> cores;
      {
        std::lock_guard lock(mutex_);
        cores.swap(cores_);
      }
      for (const auto& w : cores)
        if (auto c = w.lock()) c->close(done_handler());
    }
    std::mutex mutex_;
    std::vector<std::weak_ptr<core>> cores_;  // of this io_context, some gone already
  };

  static net::task<> keep(std::shared_ptr<core> self, redis_link& link) { co_await link.keep_connected(); }

  void link_ended() {
    --links_running_;
    finish_close();
  }

  void finish_close() {
    if (links_running_ > 0) return;
    for (auto& done : close_waiters_) asio::post(strand_, std::move(done));
    close_waiters_.clear();
  }

  // The subscriber's opening command: every channel at once.
  command_args subscribe_all() const {
    command_args args;
    if (subscriptions_.empty()) return args;
    args.push_back("SUBSCRIBE");
    for (const auto& [channel, handler] : subscriptions_) args.push_back(channel);
    return args;
  }

  // Called inside hiredis: the handler runs later, in its own turn of the strand.
  void on_message(std::string channel, std::string payload) {
    asio::post(strand_,
               [self = shared_from_this(), channel = std::move(channel), payload = std::move(payload)] {
                 auto it = self->subscriptions_.find(channel);
                 if (!self->closing_ && it != self->subscriptions_.end()) it->second(payload);
               });
  }

  void on_link_status(bool up, const std::string& why) {
    redis_state next = state();
    next.up = commands_.up() && subscriber_.up();
    if (!up) next.last_error = why;
    {
      std::lock_guard lock(state_mutex_);
      if (next == state_) return;
      state_ = next;
    }
    asio::post(strand_, [self = shared_from_this(), next] {
      if (!self->closing_ && self->on_state_) self->on_state_(next);
    });
  }

  strand strand_;
  redis_link commands_;
  redis_link subscriber_;
  std::map<std::string, message_handler> subscriptions_;  // made again on every reconnect
  state_handler on_state_;
  mutable std::mutex state_mutex_;  // state_ is read from any thread
  redis_state state_;
  int links_running_ = 0;  // link loops not yet ended
  std::vector<done_handler> close_waiters_;
  bool closing_ = false;             // close() began: nothing is sent and no handler runs any more
  std::atomic<bool> closed_{false};  // the same, readable from the destructor's thread
};

redis_client::redis_client(net::asio::any_io_executor ex, redis_endpoint endpoint, state_handler on_state)
    : core_(std::make_shared<core>(std::move(ex), std::move(endpoint), std::move(on_state))) {
  core_->start();
}

redis_client::~redis_client() {
  // After close() nothing is posted: the owner may be destroying the io_context by then.
  if (!core_->closed()) asio::post(core_->executor(), [core = core_] { core->close(done_handler()); });
}

net::task<redis_reply> redis_client::command(std::vector<std::string> args) {
  auto work = [args = std::move(args)](core& c, reply_handler done) mutable {
    c.command(std::move(args), std::move(done));
  };
  return on_strand<void(redis_reply)>(core_, std::move(work));
}

net::task<redis_reply> redis_client::subscribe(std::string channel, message_handler on_message) {
  auto work = [channel = std::move(channel), on_message = std::move(on_message)](core& c,
                                                                                 reply_handler done) mutable {
    c.subscribe(std::move(channel), std::move(on_message), std::move(done));
  };
  return on_strand<void(redis_reply)>(core_, std::move(work));
}

net::task<> redis_client::unsubscribe(std::string channel) {
  auto work = [channel = std::move(channel)](core& c, done_handler done) {
    c.unsubscribe(channel);
    asio::post(c.executor(), std::move(done));
  };
  return on_strand<void()>(core_, std::move(work));
}

net::task<> redis_client::close() {
  auto work = [](core& c, done_handler done) { c.close(std::move(done)); };
  return on_strand<void()>(core_, std::move(work));
}

redis_state redis_client::state() const {
  return core_->state();
}

}  // namespace hc::cluster

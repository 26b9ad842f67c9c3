// relay/listener_set: listener list, selection and closing (see listener_set.hpp).
#include "relay/listener_set.hpp"

#include "net/limits.hpp"
#include "relay/http_mode/request_exchange.hpp"
#include "relay/rendezvous.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <random>
#include <utility>

namespace hc::relay {

bool listener_set::add(std::shared_ptr<listener> l, std::size_t max_listeners) {
  std::lock_guard lock(mutex_);
  if (listeners_.size() >= max_listeners) return false;
  listeners_.push_back(std::move(l));
  return true;
}

void listener_set::remove(const listener* l) {
  std::lock_guard lock(mutex_);
  std::erase_if(listeners_, [&](const auto& e) { return e.get() == l; });
}

std::size_t listener_set::count() const {
  std::lock_guard lock(mutex_);
  return listeners_.size();
}

std::vector<std::shared_ptr<listener>> listener_set::snapshot() const {
  std::lock_guard lock(mutex_);
  return listeners_;
}

std::optional<std::size_t> pick_less_loaded(const std::vector<int>& loads) {
  if (loads.empty()) return std::nullopt;
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> any(0, loads.size() - 1);
  auto a = any(rng);
  auto b = any(rng);
  return loads[b] < loads[a] ? b : a;
}

listener_set::candidates listener_set::eligible(const std::vector<std::string>& allowed,
                                                const std::vector<std::string>& disallowed,
                                                const std::vector<std::shared_ptr<listener>>& exclude) const {
  auto listed = [](const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  candidates out;
  std::lock_guard lock(mutex_);
  for (const auto& e : listeners_) {
    if (!allowed.empty() && !listed(allowed, e->id())) continue;
    if (listed(disallowed, e->id())) continue;
    if (std::find(exclude.begin(), exclude.end(), e) != exclude.end()) continue;
    if (e->close_begun()) continue;
    (e->backed_up() ? out.busy : out.ready).push_back(e);
  }
  return out;
}

void listener_set::close_all(std::uint16_t code, const std::string& reason) {
  for (auto& l : snapshot()) l->begin_close(code, reason);
}

net::task<bool> listener::send(proto::opcode op, std::string payload) {
  std::vector<std::pair<proto::opcode, std::string>> one;
  one.emplace_back(op, std::move(payload));
  bool sent = co_await send_in_order(std::move(one));
  co_return sent;
}

net::task<bool> listener::send_in_order(std::vector<std::pair<proto::opcode, std::string>> frames) {
  if (!channel || closing || channel->close_sent()) co_return false;
  std::size_t total = 0;
  for (const auto& f : frames) total += f.second.size();
  struct in_flight {  // counts this write in the backlog until it ends, however it ends
    listener& l;
    std::size_t bytes;
    in_flight(listener& owner, std::size_t n) : l(owner), bytes(n) {
      if (l.writes_in_flight_.fetch_add(1) == 0) l.note_write_progress();
      l.queued_bytes_.fetch_add(bytes);
    }
    ~in_flight() {
      l.writes_in_flight_.fetch_sub(1);
      l.queued_bytes_.fetch_sub(bytes);
      l.note_write_progress();
    }
  } counted(*this, total);
  co_await frame_order_.lock();
  struct unlock_at_end {
    net::async_mutex& m;
    ~unlock_at_end() { m.unlock(); }
  } unlock{frame_order_};
  for (auto& [op, payload] : frames) {
    if (!channel || closing || channel->close_sent()) co_return false;
    auto bytes = std::span(reinterpret_cast<std::uint8_t*>(payload.data()), payload.size());
    auto ec = co_await channel->write_frame_within(op, true, bytes, net::limits::control_write_timeout);
    if (ec == net::asio::error::timed_out)
      spdlog::warn(
          "listener {} dropped: it took no control message for {} s (it is not reading its channel)", id_,
          std::chrono::duration_cast<std::chrono::seconds>(net::limits::control_write_timeout).count());
    if (ec) co_return false;
  }
  co_return true;
}

void listener::note_write_progress() {
  write_progress_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count());
}

bool listener::backed_up() const {
  if (queued_bytes_.load() > net::limits::control_backlog_bytes) return true;
  auto now = std::chrono::steady_clock::now();
  auto since = std::chrono::steady_clock::duration(write_progress_ns_.load());
  if (writes_in_flight_.load() > 0 && now.time_since_epoch() - since > net::limits::control_backlog_grace)
    return true;
  std::lock_guard lock(unanswered_mutex_);
  return std::any_of(unanswered_.begin(), unanswered_.end(), [&](const unanswered_accept& a) {
    return !a.pending.expired() && now - a.sent > net::limits::listener_answer_grace;
  });
}

void listener::set_token(std::string token) {
  std::lock_guard lock(token_mutex_);
  token_ = std::move(token);
}

std::string listener::token() const {
  std::lock_guard lock(token_mutex_);
  return token_;
}

bool listener::expect_answer(std::string key, std::weak_ptr<pending_rendezvous> pending) {
  std::lock_guard lock(unanswered_mutex_);
  if (gone_) return false;
  std::erase_if(unanswered_, [](const auto& e) { return e.pending.expired(); });  // answered ones
  unanswered_.push_back({std::move(key), std::move(pending), std::chrono::steady_clock::now()});
  return true;
}

std::vector<std::pair<std::string, std::weak_ptr<pending_rendezvous>>> listener::take_unanswered() {
  std::lock_guard lock(unanswered_mutex_);
  gone_ = true;
  std::vector<std::pair<std::string, std::weak_ptr<pending_rendezvous>>> out;
  for (auto& a : unanswered_) out.emplace_back(std::move(a.key), std::move(a.pending));
  unanswered_.clear();
  return out;
}

bool listener::expect_response(const std::string& id, std::weak_ptr<request_exchange> r) {
  std::lock_guard lock(unanswered_mutex_);
  if (gone_) return false;
  return requests_.emplace(id, std::move(r)).second;
}

std::shared_ptr<request_exchange> listener::take_request(const std::string& id) {
  std::lock_guard lock(unanswered_mutex_);
  auto it = requests_.find(id);
  if (it == requests_.end()) return nullptr;
  auto r = it->second.lock();
  requests_.erase(it);
  return r;
}

std::vector<std::shared_ptr<request_exchange>> listener::take_requests() {
  std::lock_guard lock(unanswered_mutex_);
  gone_ = true;
  std::vector<std::shared_ptr<request_exchange>> out;
  for (auto& [id, weak] : requests_)
    if (auto r = weak.lock()) out.push_back(std::move(r));
  requests_.clear();
  return out;
}

void listener::begin_close(std::uint16_t code, std::string reason) {
  closing_started_.store(true);
  // A short step, not a session: its failure is the channel's, which the session reports.
  net::asio::co_spawn(
      strand_,
      [self = shared_from_this(), code, reason = std::move(reason)]() -> net::task<> {
        if (!self->channel || self->closing) co_return;
        self->closing.emplace(self->strand_, net::limits::close_echo_timeout, [self = self.get()] {
          if (self->channel) self->channel->stream().close();
        });
        co_await self->channel->write_close(code, reason);
      },
      net::asio::detached);
}

void listener_set::record(outcome kind, std::string text) {
  auto& counter = kind == outcome::accepted   ? tunnels_accepted
                  : kind == outcome::rejected ? tunnels_rejected
                                              : tunnels_timed_out;
  counter.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  last_ = last_outcome{kind, std::move(text), std::chrono::system_clock::now()};
}

std::optional<listener_set::last_outcome> listener_set::last() const {
  std::lock_guard lock(mutex_);
  return last_;
}

}  // namespace hc::relay

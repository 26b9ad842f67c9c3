// net/task_group: membership, end_all and the bounded wait (see task_group.hpp).
#include "net/task_group.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::net {

task_group::membership task_group::join(asio::any_io_executor ex, std::function<void()> end_gracefully) {
  member m{std::move(ex), std::move(end_gracefully), std::make_shared<bool>(true)};
  std::lock_guard lock(mutex_);
  auto id = next_id_++;
  if (ending_) request_end(m);
  members_.emplace(id, std::move(m));
  return membership(this, id);
}

void task_group::release(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = members_.find(id);
  if (it == members_.end()) return;
  // The membership is destroyed on the member's executor: a queued action checks this there.
  *it->second.present = false;
  members_.erase(it);
}

void task_group::request_end(const member& m) {
  asio::post(m.executor, [present = m.present, end = m.end_gracefully] {
    if (*present) end();
  });
}

void task_group::end_all() {
  std::lock_guard lock(mutex_);
  ending_ = true;
  for (const auto& [id, m] : members_) request_end(m);
}

std::size_t task_group::size() const {
  std::lock_guard lock(mutex_);
  return members_.size();
}

task<bool> task_group::wait_empty(std::chrono::steady_clock::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer poll(ex);
  while (size() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    poll.expires_after(std::chrono::milliseconds(20));
    co_await poll.async_wait(use_tuple);
  }
  co_return true;
}

}  // namespace hc::net

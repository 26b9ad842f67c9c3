// relay/model/catalog_sync: the revision poll and reload (see catalog_sync.hpp).
#include "relay/model/catalog_sync.hpp"

#include "net/limits.hpp"
#include "relay/context.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

namespace hc::relay {

bool store_health::answered() {
  std::lock_guard lock(mutex_);
  return std::exchange(problem_, std::nullopt).has_value();
}

bool store_health::failed(std::string why) {
  std::lock_guard lock(mutex_);
  bool was_up = !problem_;
  problem_ = std::move(why);
  return was_up;
}

std::optional<std::string> store_health::problem() const {
  std::lock_guard lock(mutex_);
  return problem_;
}

namespace {

// On the store worker: the revision, and when it moved the reconciled catalog.
void catch_up(relay_context& ctx) {
  auto applied = ctx.applied_revision;
  if (ctx.db->revision() == applied) return;
  auto snap = ctx.db->load();
  ctx.entities.reconcile(snap);
  ctx.apps.load(snap, ctx.entities);
  ctx.applied_revision = snap.revision;
  spdlog::debug("catalog reloaded at store revision {} (was {})", snap.revision, applied);
}

}  // namespace

net::task<> follow_store(relay_context& ctx) {
  auto ex = co_await net::asio::this_coro::executor;  // own statement: net/types.hpp
  net::asio::steady_timer every(ex);
  for (;;) {
    every.expires_after(net::limits::catalog_poll_interval);
    auto [ec] = co_await every.async_wait(net::use_tuple);
    if (ec) co_return;
    std::string failure;
    try {
      co_await ctx.on_store([&ctx] { catch_up(ctx); });
    } catch (const store::store_error& e) {
      failure = e.what();
    }
    if (failure.empty()) {
      if (ctx.store_state.answered()) spdlog::info("catalog store answers again; management calls work");
    } else if (ctx.store_state.failed(failure)) {
      spdlog::error(
          "{}: management calls answer 503 and tunnels go on with the catalog held in memory "
          "until it answers again",
          failure);
    }
  }
}

net::task<> read_latest(relay_context& ctx) {
  if (!ctx.shared_store) co_return;
  try {
    co_await ctx.on_store([&ctx] { catch_up(ctx); });
  } catch (const store::store_error&) {
    // The call itself reaches the store next and answers 503 with the reason.
  }
}

}  // namespace hc::relay

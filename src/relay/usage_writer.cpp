// relay/usage_writer: periodic and final usage writes (see usage_writer.hpp).
#include "relay/usage_writer.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace hc::relay {
namespace {

// Adds `rows` to the store; false (with the reason logged) when the store did not take them.
bool write(relay_context& ctx, const std::vector<store::usage_record>& rows) {
  try {
    ctx.db->add_usage(rows);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("usage: {} hourly rows not written, kept for the next try: {}", rows.size(), e.what());
    return false;
  }
}

}  // namespace

net::task<> keep_usage(relay_context& ctx) {
  net::asio::steady_timer timer(co_await net::asio::this_coro::executor);
  auto next_prune = std::chrono::steady_clock::now();
  for (;;) {
    timer.expires_after(ctx.settings.usage_interval);
    auto [ec] = co_await timer.async_wait(net::use_tuple);
    if (ec) co_return;
    auto rows = ctx.usage.drain();
    bool prune = std::chrono::steady_clock::now() >= next_prune;
    if (prune) next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
    auto before = std::int64_t(std::time(nullptr)) - std::int64_t(ctx.settings.usage_retention_days) * 86400;
    auto kept = co_await ctx.on_store([&ctx, &rows, prune, before] {
      bool written = rows.empty() || write(ctx, rows);
      if (prune) {
        try {
          if (auto gone = ctx.db->prune_usage(before))
            spdlog::info("usage: {} hourly rows older than {} days deleted", gone,
                         ctx.settings.usage_retention_days);
        } catch (const std::exception& e) {
          spdlog::warn("usage: old hourly rows not deleted: {}", e.what());
        }
      }
      return written;
    });
    if (!kept) ctx.usage.restore(rows);
  }
}

void write_last_usage(relay_context& ctx) {
  auto rows = ctx.usage.drain();
  if (!rows.empty() && write(ctx, rows))
    spdlog::info("usage: {} hourly rows written at shutdown", rows.size());
}

}  // namespace hc::relay

// relay/usage_writer: periodic and final usage writes in named batches (see usage_writer.hpp).
#include "relay/usage_writer.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <ctime>
#include <random>

namespace hc::relay {

usage_writer::usage_writer(relay_context& ctx) : ctx_(ctx) {
  std::random_device random;
  char name[24];
  std::snprintf(name, sizeof name, "%08x%08x", random(), random());
  prefix_ = name;
}

void usage_writer::write_due(std::vector<store::usage_record> fresh) {
  if (!fresh.empty()) {
    if (queue_.empty() || queue_.back().tried)
      queue_.push_back({prefix_ + "-" + std::to_string(++sequence_), {}, false});
    auto& open = queue_.back().rows;
    open.insert(open.end(), fresh.begin(), fresh.end());
  }
  while (!queue_.empty()) {
    auto& next = queue_.front();
    next.tried = true;
    try {
      ctx_.db->add_usage(next.name, next.rows);
    } catch (const std::exception& e) {
      spdlog::warn("usage: batch {} ({} hourly rows) not written, tried again with the next: {}", next.name,
                   next.rows.size(), e.what());
      return;
    }
    queue_.pop_front();
  }
}

net::task<> usage_writer::run() {
  net::asio::steady_timer timer(co_await net::asio::this_coro::executor);
  auto next_prune = std::chrono::steady_clock::now();
  for (;;) {
    timer.expires_after(ctx_.settings.usage_interval);
    auto [ec] = co_await timer.async_wait(net::use_tuple);
    if (ec) co_return;
    auto fresh = ctx_.usage.drain();
    bool prune = std::chrono::steady_clock::now() >= next_prune;
    if (prune) next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
    auto before = std::int64_t(std::time(nullptr)) - std::int64_t(ctx_.settings.usage_retention_days) * 86400;
    co_await ctx_.on_store([this, &fresh, prune, before] {
      write_due(std::move(fresh));
      if (!prune) return;
      try {
        if (auto gone = ctx_.db->prune_usage(before))
          spdlog::info("usage: {} hourly rows older than {} days deleted", gone,
                       ctx_.settings.usage_retention_days);
      } catch (const std::exception& e) {
        spdlog::warn("usage: old hourly rows not deleted: {}", e.what());
      }
    });
  }
}

void usage_writer::write_last() {
  write_due(ctx_.usage.drain());
  if (queue_.empty())
    spdlog::info("usage: written at shutdown");
  else
    spdlog::warn("usage: {} batch(es) could not be written at shutdown and are lost", queue_.size());
}

}  // namespace hc::relay

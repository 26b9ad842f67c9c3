// relay/usage_writer: moves what relay_context::usage accumulated into the store's usage rows
// every settings.usage_interval (on the store worker), prunes rows older than
// settings.usage_retention_days once an hour, and writes the rest at shutdown, so counts survive
// a restart. Each write is a named batch (store::add_usage): a batch that failed is tried again
// under its own name and never merged into another, because its COMMIT may have landed with the
// answer lost; so nothing is counted twice and nothing is dropped.
#pragma once
#include "net/types.hpp"
#include "relay/context.hpp"

#include <deque>
#include <string>
#include <vector>

namespace hc::relay {

class usage_writer {
 public:
  explicit usage_writer(relay_context& ctx);
  // Runs until the relay's io_context stops.
  net::task<> run();
  // At shutdown, after the store worker finished: what is left, written on the calling thread.
  void write_last();

 private:
  struct batch {
    std::string name;
    std::vector<store::usage_record> rows;
    bool tried = false;  // a batch never tried may still take more rows
  };
  // Queues `fresh` and writes the queue in order until a write fails. Store worker only.
  void write_due(std::vector<store::usage_record> fresh);

  relay_context& ctx_;
  std::string prefix_;  // random per process: batch names of two nodes or two runs never meet
  std::uint64_t sequence_ = 0;
  std::deque<batch> queue_;
};

}  // namespace hc::relay

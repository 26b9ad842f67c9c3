// tests/engines/redis_test_client: a redis_client on its own loop with its states recorded, for
// the engine tests, and predicates over the recorded states. Closed by its destructor.
#pragma once
#include "cluster/redis_client.hpp"
#include "test_loop.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace hc::test {

using cluster::redis_client;
using cluster::redis_endpoint;
using cluster::redis_reply;
using cluster::redis_state;

inline bool last_is_up(const std::vector<redis_state>& s) {
  return !s.empty() && s.back().up;
}
inline bool last_is_down(const std::vector<redis_state>& s) {
  return !s.empty() && !s.back().up && !s.back().last_error.empty();
}
inline std::size_t ups(const std::vector<redis_state>& s) {
  return std::count_if(s.begin(), s.end(), [](const redis_state& x) { return x.up; });
}

// A client on its own io thread, with its states recorded; closed at the end of the test.
struct test_client {
  recorder<redis_state> states;  // first: outlives the io thread
  io_thread loop;
  std::unique_ptr<redis_client> client;

  explicit test_client(const redis_endpoint& e)
      : client(std::make_unique<redis_client>(loop.io.get_executor(), e,
                                              [this](const redis_state& s) { states.add(s); })) {}
  ~test_client() { close(); }

  bool wait_up(clock::duration limit = 10s) { return states.wait_until(last_is_up, limit); }
  redis_reply run(std::vector<std::string> a, clock::duration limit = 10s) {
    return await_on(loop, client->command(std::move(a)), limit);
  }
  void close() {
    if (client) await_on(loop, client->close());
  }
};

}  // namespace hc::test

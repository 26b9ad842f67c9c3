// net/io_threads: how many threads run a program's io_context. Every program (hcrelay, hcm,
// hcconnect) takes --threads; 0 picks the defaults below. The io_context is built with the same
// number as its concurrency hint, so a single-threaded one skips the scheduler's locking and
// cross-thread wake-ups (which cost more than they give when the tunnel's other processes share
// the same cores).
#pragma once
#include <algorithm>
#include <thread>

namespace hc::net {

// The relay serves every agent and app of a namespace: one thread per core by default.
inline int relay_io_threads(int requested) {
  if (requested > 0) return requested;
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

// hcm and hcconnect carry one machine's tunnels and share that machine with the service or the
// app they serve: one thread by default, which measured faster than two on a 2-core machine for
// both bulk and request/response traffic (scripts/bench, bench/results).
inline int agent_io_threads(int requested) {
  return requested > 0 ? requested : 1;
}

}  // namespace hc::net

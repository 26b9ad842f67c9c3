// bench/micro: Google Benchmark micro-benchmarks for the hot pure functions of the data path
// and the connection path: SAS verification, frame header decode/encode, unmasking, and the
// accept message the relay builds for every sender. Run: build/hcmicro (not part of the tests).
#include "proto/control_messages.hpp"
#include "proto/hc_address.hpp"
#include "proto/sas.hpp"
#include "proto/ws_frame.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <vector>

namespace {

using namespace hc::proto;

void sas_verify(benchmark::State& state) {
  const std::string key = "SGVsbG9Xb3JsZEhlbGxvV29ybGRIZWxsb1dvcmxkMTI=";
  auto token_text =
      make_sas_token("http://contoso.servicebus.windows.net/hyco", "defaultSender", key, 4102444800);
  sas_key prepared(key);
  for (auto _ : state) {
    auto token = parse_sas_token(token_text);
    bool ok = token && prepared.verifies(*token);
    auto scope = token_scope(token->resource);
    benchmark::DoNotOptimize(ok && scope && scope_covers(*scope, "contoso.servicebus.windows.net", "hyco"));
  }
}
BENCHMARK(sas_verify);

void frame_header_roundtrip(benchmark::State& state) {
  frame_header h;
  h.op = opcode::binary;
  h.masked = true;
  h.mask = {1, 2, 3, 4};
  h.payload_length = 65536;
  std::array<std::uint8_t, max_frame_header_bytes> out;
  for (auto _ : state) {
    auto n = encode_frame_header(h, out);
    auto back = decode_frame_header(std::span<const std::uint8_t>(out.data(), n));
    benchmark::DoNotOptimize(back);
  }
}
BENCHMARK(frame_header_roundtrip);

void unmask(benchmark::State& state) {
  std::vector<std::uint8_t> payload(std::size_t(state.range(0)), 0x5a);
  mask_key key{0x12, 0x34, 0x56, 0x78};
  for (auto _ : state) {
    apply_mask(payload, key, 3);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(unmask)->Arg(16 * 1024)->Arg(64 * 1024);

void accept_message_build(benchmark::State& state) {
  accept_message m;
  m.id = "3f2a0d1e-9c1b-4f3e-8a51-2b1e5d6c7a80_G0";
  m.connect_headers = {{"Host", "relay.example.com"},
                       {"Upgrade", "websocket"},
                       {"Connection", "Upgrade"},
                       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                       {"Sec-WebSocket-Version", "13"}};
  m.remote = remote_endpoint{"10.1.2.3", 51234};
  for (auto _ : state) {
    m.address = build_rendezvous_address("relay.example.com", 443, "cache", "", hc_action::accept, m.id,
                                         "00112233445566778899aabbccddeeff");
    benchmark::DoNotOptimize(serialize(m));
  }
}
BENCHMARK(accept_message_build);

}  // namespace

BENCHMARK_MAIN();

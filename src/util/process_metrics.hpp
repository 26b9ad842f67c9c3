// util/process_metrics: what every program's /metrics says about the program itself, in the
// Prometheus text format: {program}_build_info{version,commit} 1 and the standard process_*
// families (CPU seconds, resident memory, open and allowed file descriptors, start time), read
// from /proc/self at each scrape.
#pragma once
#include <string>
#include <string_view>

namespace hc::util {

std::string process_metrics_text(std::string_view program);

}  // namespace hc::util

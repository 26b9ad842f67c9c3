// util/process_metrics: build info and process_* families from /proc/self (see process_metrics.hpp).
#include "util/process_metrics.hpp"

#include "util/build_info.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hc::util {
namespace {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::string_view sample) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(sample).append("\n");
}

std::string number(double v) {
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

// Fields of /proc/self/stat after the command name: utime (14), stime (15), starttime (22).
struct cpu_and_start {
  double cpu_seconds = 0;
  double start_seconds_since_boot = 0;
};
cpu_and_start read_stat() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may hold spaces and parentheses
  cpu_and_start out;
  if (close == std::string::npos) return out;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = double(::sysconf(_SC_CLK_TCK));
  for (int n = 3; fields >> field; ++n) {  // field 3 is the state
    if (n == 14 || n == 15) out.cpu_seconds += std::stod(field) / ticks;
    if (n == 22) {
      out.start_seconds_since_boot = std::stod(field) / ticks;
      break;
    }
  }
  return out;
}

std::int64_t boot_time() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("btime ", 0) == 0) return std::stoll(line.substr(6));
  return 0;
}

double resident_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return double(resident) * double(::sysconf(_SC_PAGESIZE));
}

std::size_t open_fds() {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec))
    ++n;
  return n > 0 ? n - 1 : 0;  // less the descriptor of the listing itself
}

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string process_metrics_text(std::string_view program) {
  std::string out;
  family(out, std::string(program) + "_build_info", "gauge",
         "The version and git commit this program was built from (always 1)",
         "{version=\"" + label_value(version()) + "\",commit=\"" + label_value(commit()) + "\"} 1");
  auto stat = read_stat();
  family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds",
         " " + number(stat.cpu_seconds));
  family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes",
         " " + number(resident_bytes()));
  family(out, "process_open_fds", "gauge", "Number of open file descriptors",
         " " + number(double(open_fds())));
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors",
         " " + number(double(files.rlim_cur)));
  family(out, "process_start_time_seconds", "gauge",
         "Start time of the process since the Unix epoch in seconds",
         " " + number(double(boot_time()) + stat.start_seconds_since_boot));
  return out;
}

}  // namespace hc::util

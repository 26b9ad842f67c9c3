// tests/engines/postgres_install: where Debian's postgresql package (which scripts/setup --test
// installs) put the server's programs: /usr/lib/postgresql/VERSION/bin, the newest version that
// has initdb and postgres. Empty when none is installed, which the tests report as a failure
// naming scripts/setup (the suite's own setup installs it: a skip would hide that).
#pragma once
#include <filesystem>
#include <string>

namespace hc::test {

inline std::filesystem::path postgres_bin_dir() {
  namespace fs = std::filesystem;
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = entry.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "postgres")) continue;
    int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version) best_version = version, best = bin;
  }
  return best;
}

inline const char* postgres_missing =
    "PostgreSQL's server programs are not under /usr/lib/postgresql/*/bin: scripts/setup --test installs "
    "them (apt package postgresql)";

}  // namespace hc::test

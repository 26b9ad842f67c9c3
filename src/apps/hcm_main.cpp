// apps/hcm_main: the hcm command line (Hybrid Connection Manager); the verbs and the service
// live in manager/.
#include "manager/cli.hpp"
#include "util/core_dumps.hpp"

int main(int argc, char** argv) {
  hc::util::disable_core_dumps();  // hcm holds listener keys
  return hc::manager::cli_main(argc, argv);
}

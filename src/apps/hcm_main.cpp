// apps/hcm_main: the hcm command line (Hybrid Connection Manager); the verbs and the service
// live in manager/.
#include "manager/cli.hpp"

int main(int argc, char** argv) {
  return hc::manager::cli_main(argc, argv);
}

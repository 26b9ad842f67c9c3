// util/core_dumps: keeps the keys a process holds out of core files. hcm and hcconnect call
// disable_core_dumps() first thing in main(): no core file (RLIMIT_CORE 0) and not dumpable
// (PR_SET_DUMPABLE 0, which also keeps other processes of the same uid from ptrace-attaching
// and makes /proc/PID root-owned; the process itself still reads its own /proc/self).
// Not thread-safe: call before any thread starts.
#pragma once

namespace hc::util {

// Never fails the program: a limit that cannot be set is reported on stderr.
void disable_core_dumps();
// Puts back the core-file limit the process started with, for children it is about to start
// (`hcconnect run -- CMD`: the command keeps its own core dumps). The process itself stays
// non-dumpable: PR_SET_DUMPABLE 0 suppresses its core files whatever the limit, and exec resets it.
void restore_core_limit_for_children();

}  // namespace hc::util

// connector/intercept/hcintercept: libhcintercept.so, the LD_PRELOAD resolver shim that
// `hcconnect run -- CMD` puts under an unmodified app. It answers getaddrinfo, gethostbyname,
// gethostbyname2, gethostbyname_r and gethostbyname2_r for the names in HCCONNECT_HOSTS
// ("name1=127.x.y.z;name2=..."; case-insensitive, a trailing dot matches too) with the
// endpoint's loopback address, and passes every other name to the real resolver (RTLD_NEXT).
// Plain C++ on libc and libdl only (no Boost, no libstdc++, no exceptions, no allocation; built
// with -fno-exceptions and linked --as-needed so an app gains no C++ runtime). The map is parsed once,
// thread-safely, on first use; lookups are read-only after that.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

constexpr std::size_t max_entries = 256;
constexpr std::size_t max_name = 254;  // a DNS name is at most 253 characters (+ NUL)

struct host_entry {
  char name[max_name];  // lower case, no trailing dot
  char text[16];        // "127.x.y.z"
  in_addr address;
};

host_entry entries[max_entries];
std::size_t entry_count = 0;
pthread_once_t parse_once = PTHREAD_ONCE_INIT;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

// Parses one "name=address" item of length `len`; ignores malformed items.
void add_item(const char* item, std::size_t len) {
  const char* eq = static_cast<const char*>(std::memchr(item, '=', len));
  if (!eq || entry_count == max_entries) return;
  std::size_t name_raw = std::size_t(eq - item);
  std::size_t addr_len = len - name_raw - 1;
  std::size_t name_len = name_raw;
  while (name_len > 0 && (item[name_len - 1] == '.' || item[name_len - 1] == ' ')) --name_len;
  if (name_len == 0 || name_len >= max_name || addr_len == 0 || addr_len >= sizeof(host_entry::text)) return;
  host_entry& e = entries[entry_count];
  for (std::size_t i = 0; i < name_len; ++i) e.name[i] = lower(item[i]);
  e.name[name_len] = '\0';
  std::memcpy(e.text, eq + 1, addr_len);
  e.text[addr_len] = '\0';
  if (inet_pton(AF_INET, e.text, &e.address) != 1) return;
  ++entry_count;
}

void parse_hosts() {
  const char* spec = std::getenv("HCCONNECT_HOSTS");
  if (!spec) return;
  const char* at = spec;
  while (*at) {
    const char* end = std::strchr(at, ';');
    std::size_t len = end ? std::size_t(end - at) : std::strlen(at);
    if (len > 0) add_item(at, len);
    if (!end) break;
    at = end + 1;
  }
}

// The entry for `name`, or nullptr when it is not an endpoint name (then the real resolver runs).
const host_entry* find(const char* name) {
  if (!name) return nullptr;
  pthread_once(&parse_once, parse_hosts);
  std::size_t len = std::strlen(name);
  while (len > 0 && name[len - 1] == '.') --len;
  if (len == 0 || len >= max_name) return nullptr;
  for (std::size_t i = 0; i < entry_count; ++i) {
    const char* n = entries[i].name;
    std::size_t j = 0;
    while (j < len && n[j] != '\0' && lower(name[j]) == n[j]) ++j;
    if (j == len && n[j] == '\0') return &entries[i];
  }
  return nullptr;
}

using getaddrinfo_fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
using gethostbyname_fn = hostent* (*)(const char*);
using gethostbyname2_fn = hostent* (*)(const char*, int);
using gethostbyname_r_fn = int (*)(const char*, hostent*, char*, std::size_t, hostent**, int*);
using gethostbyname2_r_fn = int (*)(const char*, int, hostent*, char*, std::size_t, hostent**, int*);

// The real resolver functions (the next definitions after ours), looked up once.
struct real_functions {
  getaddrinfo_fn getaddrinfo;
  gethostbyname_fn gethostbyname;
  gethostbyname2_fn gethostbyname2;
  gethostbyname_r_fn gethostbyname_r;
  gethostbyname2_r_fn gethostbyname2_r;
};
real_functions real_fns;
pthread_once_t real_once = PTHREAD_ONCE_INIT;

void resolve_real() {
  real_fns.getaddrinfo = reinterpret_cast<getaddrinfo_fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  real_fns.gethostbyname = reinterpret_cast<gethostbyname_fn>(dlsym(RTLD_NEXT, "gethostbyname"));
  real_fns.gethostbyname2 = reinterpret_cast<gethostbyname2_fn>(dlsym(RTLD_NEXT, "gethostbyname2"));
  real_fns.gethostbyname_r = reinterpret_cast<gethostbyname_r_fn>(dlsym(RTLD_NEXT, "gethostbyname_r"));
  real_fns.gethostbyname2_r = reinterpret_cast<gethostbyname2_r_fn>(dlsym(RTLD_NEXT, "gethostbyname2_r"));
}

const real_functions& real() {
  pthread_once(&real_once, resolve_real);
  return real_fns;
}

// Lays out a one-address AF_INET hostent in `buf`: name, empty alias list, address list.
// Returns 0, or ERANGE when `buflen` is too small.
int fill_hostent(const char* name, const host_entry& e, hostent* out, char* buf, std::size_t buflen) {
  std::size_t name_len = std::strlen(name) + 1;
  // pointers first (aligned), then the address, then the name
  std::size_t need = 3 * sizeof(char*) + sizeof(in_addr) + name_len + alignof(char*);
  if (buflen < need) return ERANGE;
  auto base = reinterpret_cast<std::uintptr_t>(buf);
  auto aligned = (base + alignof(char*) - 1) & ~(std::uintptr_t(alignof(char*)) - 1);
  char** ptrs = reinterpret_cast<char**>(aligned);
  char* addr = reinterpret_cast<char*>(ptrs + 3);
  char* name_copy = addr + sizeof(in_addr);
  std::memcpy(addr, &e.address, sizeof(in_addr));
  std::memcpy(name_copy, name, name_len);
  ptrs[0] = nullptr;  // aliases: none
  ptrs[1] = addr;     // addresses: one
  ptrs[2] = nullptr;
  out->h_name = name_copy;
  out->h_aliases = &ptrs[0];
  out->h_addrtype = AF_INET;
  out->h_length = sizeof(in_addr);
  out->h_addr_list = &ptrs[1];
  return 0;
}

// gethostbyname and gethostbyname2 return a static result in glibc; ours is per thread, which
// is at least as safe for callers.
thread_local hostent static_result;
thread_local char static_buffer[3 * sizeof(char*) + sizeof(in_addr) + max_name + alignof(char*) + 16];

}  // namespace

extern "C" {

int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  const auto next = real().getaddrinfo;
  if (!next) return EAI_SYSTEM;
  const host_entry* e = find(node);
  if (!e) return next(node, service, hints, res);
  // The real resolver answers the numeric address, so libc allocates the result and libc's
  // freeaddrinfo frees it. An IPv6-only caller gets the IPv4-mapped form of the same address.
  addrinfo h{};
  if (hints) h = *hints;
  h.ai_flags |= AI_NUMERICHOST;
  h.ai_flags &= ~AI_ADDRCONFIG;  // loopback-only hosts have no "configured" IPv4 address
  if (h.ai_family == AF_INET6) {
    char mapped[32] = "::ffff:";
    std::strncat(mapped, e->text, sizeof(mapped) - std::strlen(mapped) - 1);
    return next(mapped, service, &h, res);
  }
  if (h.ai_family == AF_UNSPEC) h.ai_family = AF_INET;
  return next(e->text, service, &h, res);
}

hostent* gethostbyname(const char* name) {
  const auto next = real().gethostbyname;
  const host_entry* e = find(name);
  if (!e) return next ? next(name) : nullptr;
  if (fill_hostent(name, *e, &static_result, static_buffer, sizeof static_buffer) != 0) {
    h_errno = NO_RECOVERY;
    return nullptr;
  }
  return &static_result;
}

hostent* gethostbyname2(const char* name, int af) {
  const auto next = real().gethostbyname2;
  const host_entry* e = find(name);
  if (!e) return next ? next(name, af) : nullptr;
  if (af != AF_INET) {  // the endpoint name has an IPv4 loopback address only
    h_errno = NO_DATA;
    return nullptr;
  }
  if (fill_hostent(name, *e, &static_result, static_buffer, sizeof static_buffer) != 0) {
    h_errno = NO_RECOVERY;
    return nullptr;
  }
  return &static_result;
}

int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, std::size_t buflen, hostent** result,
                     int* h_errnop) {
  const auto next = real().gethostbyname2_r;
  const host_entry* e = find(name);
  if (!e) return next ? next(name, af, ret, buf, buflen, result, h_errnop) : ENOENT;
  *result = nullptr;
  if (af != AF_INET) {
    if (h_errnop) *h_errnop = NO_DATA;
    return 0;
  }
  if (int err = fill_hostent(name, *e, ret, buf, buflen)) {
    if (h_errnop) *h_errnop = NETDB_INTERNAL;
    return err;
  }
  *result = ret;
  if (h_errnop) *h_errnop = 0;
  return 0;
}

int gethostbyname_r(const char* name, hostent* ret, char* buf, std::size_t buflen, hostent** result,
                    int* h_errnop) {
  const auto next = real().gethostbyname_r;
  const host_entry* e = find(name);
  if (!e) return next ? next(name, ret, buf, buflen, result, h_errnop) : ENOENT;
  return gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

}  // extern "C"

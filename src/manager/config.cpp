// manager/config: connections.json and the instance id (see config.hpp).
#include "manager/config.hpp"

#include "net/clock.hpp"
#include "util/private_file.hpp"
#include "util/state_dir.hpp"

#include <boost/json.hpp>
#include <boost/uuid/name_generator.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace hc::manager {
namespace json = boost::json;
namespace fs = std::filesystem;

std::string connection_entry::endpoint() const {
  if (endpoint_host.empty()) return {};
  bool v6 = endpoint_host.find(':') != std::string::npos;
  return (v6 ? "[" + endpoint_host + "]" : endpoint_host) + ":" + std::to_string(endpoint_port);
}

std::string resolve_config_dir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("HCM_CONFIG_DIR"); env && *env) return env;
  return "/etc/hcm";
}

namespace {
constexpr const char* packaged_config_dir = "/etc/hcm";
constexpr const char* packaged_state_dir = "/var/lib/hcm";
}  // namespace

std::string resolve_state_dir(const std::string& flag_value, const std::string& config_dir) {
  return util::resolve_state_dir(flag_value, "HCM_STATE_DIR", config_dir, packaged_config_dir,
                                 packaged_state_dir);
}

bool is_packaged_state_dir(const std::string& dir) {
  return util::same_directory(dir, packaged_state_dir);
}

std::string connections_path(const std::string& dir) {
  return (fs::path(dir) / "connections.json").string();
}
std::string status_path(const std::string& dir) {
  return (fs::path(dir) / "status.json").string();
}
std::string log_path(const std::string& dir) {
  return (fs::path(dir) / "hcm.log").string();
}

namespace {

std::string string_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::uint64_t uint_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return std::uint64_t(v->get_int64());
  return 0;
}

bool bool_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

}  // namespace

std::vector<connection_entry> load_connections(const std::string& dir) {
  auto path = connections_path(dir);
  auto text = util::read_file(path);
  std::vector<connection_entry> out;
  if (!text || text->find_first_not_of(" \t\r\n") == std::string::npos) return out;
  json::error_code ec;
  auto value = json::parse(*text, ec);
  if (ec || !value.is_array()) throw std::runtime_error(path + " is not a JSON array of connections");
  for (auto& item : value.get_array()) {
    if (!item.is_object()) throw std::runtime_error(path + " holds an entry that is not an object");
    auto& o = item.get_object();
    connection_entry e;
    e.ns = string_field(o, "namespace");
    e.name = string_field(o, "name");
    e.connection_string = string_field(o, "connectionString");
    e.endpoint_host = string_field(o, "endpointHost");
    e.endpoint_port = std::uint16_t(uint_field(o, "endpointPort"));
    e.follow_endpoint = bool_field(o, "followEndpoint");
    e.allow_link_local = bool_field(o, "allowLinkLocal");
    e.created_on = string_field(o, "createdOn");
    e.last_updated = string_field(o, "lastUpdated");
    e.restart_generation = uint_field(o, "restartGeneration");
    if (e.name.empty() || e.connection_string.empty())
      throw std::runtime_error(path + " holds an entry without name or connectionString");
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

void save_connections(const std::string& dir, const std::vector<connection_entry>& entries) {
  util::ensure_private_dir(dir);
  json::array arr;
  for (auto& e : entries) {
    arr.push_back(json::object{{"namespace", e.ns},
                               {"name", e.name},
                               {"connectionString", e.connection_string},
                               {"endpointHost", e.endpoint_host},
                               {"endpointPort", e.endpoint_port},
                               {"followEndpoint", e.follow_endpoint},
                               {"allowLinkLocal", e.allow_link_local},
                               {"createdOn", e.created_on},
                               {"lastUpdated", e.last_updated},
                               {"restartGeneration", e.restart_generation}});
  }
  util::write_private_file(connections_path(dir), json::serialize(arr) + "\n");
}

// An exclusive flock of the directory itself while it lives (root and the service user can both
// open it; a lock file root made would shut the service out).
class directory_lock {
 public:
  explicit directory_lock(const std::string& dir)
      : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + dir + ": " + std::strerror(errno));
    // Bounded: a writer holds it for a read and a rename, so 10 s means something else holds it.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
      int why = errno;
      if ((why == EWOULDBLOCK || why == EINTR) && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      ::close(fd_);
      throw std::runtime_error("cannot lock " + dir + " to change connections.json: " +
                               (why == EWOULDBLOCK ? std::string("another process has held it for 10 s")
                                                   : std::string(std::strerror(why))));
    }
  }
  ~directory_lock() { ::close(fd_); }
  directory_lock(const directory_lock&) = delete;
  directory_lock& operator=(const directory_lock&) = delete;

 private:
  int fd_;
};

}  // namespace

bool update_connections(const std::string& config_dir,
                        const std::function<bool(std::vector<connection_entry>&)>& change) {
  util::ensure_private_dir(config_dir);
  directory_lock lock(config_dir);
  auto entries = load_connections(config_dir);
  if (!change(entries)) return false;
  save_connections(config_dir, entries);
  return true;
}

bool remove_connection(const std::string& config_dir, const std::string& ns, const std::string& name) {
  return update_connections(config_dir, [&](auto& entries) {
    return std::erase_if(entries, [&](const auto& e) { return e.ns == ns && e.name == name; }) > 0;
  });
}

bool restart_connection(const std::string& config_dir, const std::string& ns, const std::string& name) {
  return update_connections(config_dir, [&](auto& entries) {
    for (auto& e : entries) {
      if (e.ns != ns || e.name != name) continue;
      ++e.restart_generation;
      e.last_updated = now_iso8601();
      return true;
    }
    return false;
  });
}

std::string namespace_of(const proto::connection_string& cs) {
  auto dot = cs.host.find('.');
  return dot == std::string::npos ? cs.host : cs.host.substr(0, dot);
}

namespace {
// The id kept in DIR/instance-id, or "" when there is none.
std::string stored_instance_id(const std::string& dir) {
  if (auto text = util::read_file((fs::path(dir) / "instance-id").string())) {
    auto id = text->substr(0, text->find_first_of(" \r\n"));
    if (id.size() == 36) return id;
  }
  return {};
}
}  // namespace

std::string instance_id(const std::string& state_dir, const std::string& config_dir) {
  if (auto id = stored_instance_id(state_dir); !id.empty()) return id;
  // Releases before the state directory kept it beside the configuration: carried over once.
  auto id = stored_instance_id(config_dir);
  if (id.empty()) id = boost::uuids::to_string(boost::uuids::random_generator()());
  util::ensure_private_dir(state_dir);
  util::write_private_file((fs::path(state_dir) / "instance-id").string(), id + "\n");
  return id;
}

std::string listener_id(const std::string& instance, const connection_entry& entry) {
  boost::uuids::name_generator_sha1 gen(boost::uuids::ns::oid());
  return boost::uuids::to_string(gen(instance + "/" + entry.ns + "/" + entry.name));
}

std::string now_iso8601() {
  std::time_t t = net::unix_now();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace hc::manager

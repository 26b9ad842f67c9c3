// manager/login_commands: hcm login, logout and add --pick (see login_commands.hpp).
#include "manager/login_commands.hpp"

#include "manager/config.hpp"
#include "manager/relay_login.hpp"
#include "net/management_call.hpp"
#include "net/spawn.hpp"
#include "proto/utf8.hpp"
#include "util/exit_codes.hpp"
#include "util/private_file.hpp"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <set>
#include <sstream>

namespace hc::manager {
namespace {

net::tls_context relay_tls(const login_context& c) {
  try {
    return net::make_client_tls(net::ca_file_from(c.ca_file));
  } catch (const std::exception& e) {
    throw util::command_failure(e.what());
  }
}

// One line of standard input; on a terminal asked for on stderr without echo.
std::string read_key_from_stdin(const std::string& credential) {
  bool terminal = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (terminal) {
    std::cerr << "key of " << credential << ": " << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string key;
  std::getline(std::cin, key);
  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  return key;
}

relay_login stored_login(const login_context& c) {
  auto login = read_login(c.config_dir);
  if (!login)
    throw util::command_failure(
        "hcm is not signed in to a relay: run hcm login --relay https://HOST[:PORT] --key-name RULE (a "
        "Manage "
        "key) or --app APP (the app's key) first, or add a connection string with hcm add");
  return *login;
}

std::vector<std::size_t> parse_choice(const std::string& line, std::size_t count) {
  std::vector<std::size_t> chosen;
  std::string item;
  std::istringstream in(line);
  while (std::getline(in, item, ',')) {
    std::istringstream words(item);
    for (std::string word; words >> word;) {
      if (word == "all") {
        for (std::size_t i = 0; i < count; ++i) chosen.push_back(i);
        continue;
      }
      std::size_t used = 0;
      unsigned long n = 0;
      try {
        n = std::stoul(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != word.size() || n < 1 || n > count)
        throw util::usage_error("'" + word + "' is not a number from the list (1 to " +
                                std::to_string(count) + ", or all)");
      chosen.push_back(n - 1);
    }
  }
  return chosen;
}

void print_list(const std::vector<pickable_connection>& list, const std::set<std::string>& configured) {
  std::cout << "  #  NAMESPACE/NAME  ENDPOINT  LISTENERS\n";
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& hc = list[i];
    std::cout << "  " << i + 1 << "  " << hc.key() << "  " << (hc.endpoint.empty() ? "-" : hc.endpoint)
              << "  " << hc.listeners << (configured.contains(hc.key()) ? "  (added)" : "") << "\n";
  }
}

}  // namespace

int cmd_login(const login_context& c, const login_request& request) {
  if (request.key_name.empty() == request.app.empty())
    throw util::usage_error("give either --key-name RULE (a Manage key of the namespace) or --app APP");
  auto relay = net::parse_relay_url(request.relay);
  if (!relay) throw util::usage_error(relay.error().message);
  if (relay->plaintext && !c.plaintext_allowed)
    throw util::usage_error("--relay " + request.relay +
                            " is plaintext: give https://, or --insecure-plaintext for a relay run so");
  relay_login login{relay->url(), request.key_name, request.app, {}};
  login.key = request.key_file.empty() ? read_key_from_stdin(login.credential())
                                       : util::read_owner_only_secret_file(request.key_file, "--key-file");
  if (login.key.empty()) throw util::usage_error("no key given (standard input was empty)");
  auto list = net::run_sync(list_pickable(login, relay_tls(c), c.plaintext_allowed));
  if (!list.error.empty()) throw util::command_failure("not signed in: " + proto::printable(list.error));
  save_login(c.config_dir, login);
  std::cout << "signed in to " << login.relay << " as " << login.credential() << ": "
            << list.connections.size() << " hybrid connection(s) visible; hcm add --pick adds them\n";
  if (login.app.empty())
    std::cerr << "hcm: warning: " << login_path(c.config_dir)
              << " now holds a Manage key, readable by the user hcm runs as; prefer a key of one namespace "
                 "(not the relay's own RootManageSharedAccessKey) or the app's key, and run hcm logout once "
                 "the hybrid connections are added\n";
  return util::exit_code::ok;
}

int cmd_logout(const login_context& c) {
  if (!remove_login(c.config_dir)) {
    std::cout << "hcm was not signed in to a relay\n";
    return util::exit_code::ok;
  }
  std::cout << "signed out: " << login_path(c.config_dir) << " removed\n";
  return util::exit_code::ok;
}

// Names and texts from the relay are printed through proto::printable: no terminal escapes.
int cmd_pick(const login_context& c, const std::vector<std::string>& picks, endpoint_policy policy) {
  auto login = stored_login(c);
  auto tls = relay_tls(c);
  auto list = net::run_sync(list_pickable(login, tls, c.plaintext_allowed));
  if (!list.error.empty()) throw util::command_failure(proto::printable(list.error));
  if (list.connections.empty())
    throw util::not_found_error(login.credential() + " sees no hybrid connection on " + login.relay);
  std::vector<std::size_t> chosen;
  for (const auto& wanted : picks) {
    auto it = std::ranges::find(list.connections, wanted, &pickable_connection::key);
    if (it == list.connections.end())
      throw util::not_found_error("no hybrid connection " + wanted + " that " + login.credential() +
                                  " may see (hcm add --pick without names lists them)");
    chosen.push_back(std::size_t(it - list.connections.begin()));
  }
  if (picks.empty()) {
    std::set<std::string> configured;
    for (const auto& e : load_connections(c.config_dir)) configured.insert(e.key());
    std::cout << "hybrid connections " << login.credential() << " may see on " << login.relay << ":\n";
    print_list(list.connections, configured);
    std::cout << "add which? (numbers separated by spaces or commas, or all): " << std::flush;
    std::string line;
    std::getline(std::cin, line);
    chosen = parse_choice(line, list.connections.size());
    if (chosen.empty()) throw util::command_failure("nothing chosen: nothing added");
  }
  int failures = 0;
  for (auto i : chosen) {
    const auto& hc = list.connections[i];
    auto added = net::run_sync(add_picked(c.config_dir, login, tls, c.plaintext_allowed, hc, policy));
    for (auto& w : added.warnings) std::cerr << "hcm: warning: " << proto::printable(w) << "\n";
    if (!added.ok) {
      std::cerr << "hcm: not added: " << proto::printable(hc.key()) << ": " << proto::printable(added.error)
                << "\n";
      ++failures;
      continue;
    }
    std::cout << added_line(added, policy) << "\n";
  }
  return failures == 0 ? util::exit_code::ok : util::exit_code::failed;
}

}  // namespace hc::manager

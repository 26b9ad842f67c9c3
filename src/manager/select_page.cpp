// manager/select_page: the Select dialog's pages (see select_page.hpp).
#include "manager/select_page.hpp"

#include "manager/add_connection.hpp"
#include "manager/config.hpp"
#include "manager/relay_login.hpp"
#include "manager/web_ui.hpp"

#include <algorithm>
#include <set>

namespace hc::manager {
namespace {

const char* back_link = "<p><a href=\"/\">Back to the list</a></p>";

std::string error_div(const std::string& text) {
  return "<div class=\"error\">" + html_escape(text) + "</div>";
}

// The stored sign-in, or the page saying why there is none.
std::optional<relay_login> login_or_page(const std::string& config_dir, ui_page& refusal) {
  try {
    if (auto login = read_login(config_dir)) return login;
    refusal = {
        409, "Not signed in",
        error_div("hcm is not signed in to a relay: run hcm login --relay https://HOST[:PORT] --key-name "
                  "RULE (or --app APP) on this host, then open Select again.") +
            back_link};
  } catch (const std::exception& e) {
    refusal = {500, "Sign-in unreadable", error_div(e.what()) + back_link};
  }
  return std::nullopt;
}

}  // namespace

std::string select_section(const std::string& config_dir) {
  std::string body = "<h2>Select</h2>";
  try {
    if (auto login = read_login(config_dir))
      return body + "<p>Signed in to " + html_escape(login->relay) + " as " +
             html_escape(login->credential()) +
             ".</p><p><a id=\"select-link\" href=\"/select\">Select from the relay's hybrid "
             "connections</a></p>";
  } catch (const std::exception& e) {
    return body + error_div(e.what());
  }
  return body +
         "<p>Sign hcm in to a relay to choose from its hybrid connections instead of pasting connection "
         "strings: run <code>hcm login --relay https://HOST[:PORT] --key-name RULE</code> (a Manage key) or "
         "<code>--app APP</code> (the app's key) on this host.</p>";
}

net::task<ui_page> select_page(std::string config_dir, net::tls_context tls, bool plaintext_allowed) {
  ui_page refusal;
  auto login = login_or_page(config_dir, refusal);
  if (!login) co_return refusal;
  auto list = co_await list_pickable(*login, std::move(tls), plaintext_allowed);
  if (!list.error.empty())
    co_return ui_page{502, "Relay unavailable",
                      error_div("The relay did not list its hybrid connections: " + list.error) + back_link};
  std::set<std::string> configured;
  for (const auto& e : load_connections(config_dir)) configured.insert(e.key());
  std::string body = "<h1>Select hybrid connections</h1><p>What " + html_escape(login->credential()) +
                     " may see on " + html_escape(login->relay) + ".</p>";
  if (list.connections.empty())
    co_return ui_page{200, "Select", body + "<p>It sees no hybrid connection.</p>" + back_link};
  body +=
      "<form method=\"post\" action=\"/select\"><table><tr><th></th><th>Namespace</th><th>Name</th>"
      "<th>Endpoint</th><th>Listeners</th><th></th></tr>";
  for (const auto& hc : list.connections) {
    auto key = html_escape(hc.key());
    body += "<tr data-name=\"" + html_escape(hc.name) +
            "\"><td><input type=\"checkbox\" name=\"pick\" value=\"" + key + "\" aria-label=\"" + key +
            "\"></td><td>" + html_escape(hc.ns) + "</td><td>" + html_escape(hc.name) + "</td><td>" +
            html_escape(hc.endpoint.empty() ? "-" : hc.endpoint) + "</td><td>" +
            std::to_string(hc.listeners) + "</td><td>" + (configured.contains(hc.key()) ? "added" : "") +
            "</td></tr>";
  }
  co_return ui_page{200, "Select",
                    body + "</table><p><button type=\"submit\">Add selected</button></p></form>" + back_link};
}

net::task<ui_page> add_selected(std::string config_dir, net::tls_context tls, bool plaintext_allowed,
                                std::vector<std::string> picks) {
  ui_page refusal;
  auto login = login_or_page(config_dir, refusal);
  if (!login) co_return refusal;
  if (picks.empty())
    co_return ui_page{400, "Nothing selected",
                      error_div("Nothing was selected: choose at least one hybrid connection.") +
                          "<p><a href=\"/select\">Back to Select</a></p>"};
  auto list = co_await list_pickable(*login, tls, plaintext_allowed);
  if (!list.error.empty())
    co_return ui_page{502, "Relay unavailable", error_div("Nothing added: " + list.error) + back_link};
  std::string body;
  int added_count = 0;
  for (const auto& wanted : picks) {
    auto it = std::ranges::find(list.connections, wanted, &pickable_connection::key);
    if (it == list.connections.end()) {
      body += error_div("Not added " + wanted + ": " + login->credential() + " may not see it.");
      continue;
    }
    auto added = co_await add_picked(config_dir, *login, tls, plaintext_allowed, *it);
    if (!added.ok) {
      body += error_div("Not added " + wanted + ": " + added.error);
      continue;
    }
    ++added_count;
    body += "<div class=\"ok\">" +
            html_escape(std::string(added.replaced ? "Updated " : "Added ") + added.entry.key()) +
            ". The service attaches it within a second.</div>";
    for (const auto& w : added.warnings) body += "<div class=\"warning\">" + html_escape(w) + "</div>";
  }
  co_return ui_page{added_count > 0 ? 200 : 400, added_count > 0 ? "Added" : "Not added", body + back_link};
}

}  // namespace hc::manager

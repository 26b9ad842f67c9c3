// manager/select_page: the web UI's "Select" dialog beside "Enter manually" (Microsoft's HCM signs
// in and lists what it may add): the index page's Select section, GET /select (the hybrid
// connections the credential `hcm login` stored may see, with endpoints, listener counts and
// which are added already, as checkboxes) and POST /select (each picked one added as `hcm add
// --pick` adds it). Bodies only: web_ui frames them and keeps them behind the UI token.
#pragma once
#include "net/tls.hpp"
#include "net/types.hpp"

#include <string>
#include <vector>

namespace hc::manager {

struct ui_page {
  int status = 200;
  std::string title;
  std::string body;  // HTML, every value escaped
};

// The index page's section: a link to /select when signed in, else how to sign in.
std::string select_section(const std::string& config_dir);
// `plaintext_allowed`: the service's --insecure-plaintext (an http:// sign-in is used only then).
net::task<ui_page> select_page(std::string config_dir, net::tls_context tls, bool plaintext_allowed);
// `picks`: the form's pick values (NAMESPACE/NAME).
net::task<ui_page> add_selected(std::string config_dir, net::tls_context tls, bool plaintext_allowed,
                                std::vector<std::string> picks);

}  // namespace hc::manager

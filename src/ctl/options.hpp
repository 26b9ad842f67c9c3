// ctl/options: what every hcctl verb shares: the connection string (flag or
// HCRELAY_CONNECTION_STRING), the CA to trust, plaintext, and the output format. Builds the
// api_client on first use.
#pragma once
#include "ctl/api_client.hpp"

#include <boost/json/value.hpp>
#include <memory>
#include <string>

namespace hc::ctl {

struct options {
  std::string connection_string;
  std::string admin_address;  // --admin-address / $HCRELAY_ADMIN_ADDRESS: a relay's --admin-listen
  std::string ca_file;
  bool insecure_plaintext = false;
  std::string output = "table";  // table or json

  // Throws api_failure with what to do when no usable connection string was given.
  api_client& client();
  bool json() const { return output == "json"; }

 private:
  std::unique_ptr<api_client> client_;
};

// Prints `v` as indented JSON followed by a newline.
void print_json(const boost::json::value& v);

}  // namespace hc::ctl

// tests/cluster/haproxy_server: HAProxy in front of relay nodes (see haproxy_server.hpp).
#include "haproxy_server.hpp"

#include <boost/asio/connect.hpp>
#include <fstream>

namespace hc::test {

std::string haproxy_config(std::uint16_t port, const std::vector<std::uint16_t>& nodes) {
  auto cfg = read_text_file(fs::path(HC_SOURCE_DIR) / "deploy" / "haproxy" / "hcrelay.cfg.in");
  std::string servers;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    servers += "  server node" + std::to_string(i + 1) + " 127.0.0.1:" + std::to_string(nodes[i]) + "\n";
  auto put = [&](const std::string& name, const std::string& value) {
    auto at = cfg.find(name);
    if (at == std::string::npos) throw std::runtime_error("hcrelay.cfg.in has no " + name);
    cfg.replace(at, name.size(), value);
  };
  put("@BIND@", "127.0.0.1:" + std::to_string(port));
  put("@SOURCE@", haproxy_source);
  put("@SERVERS@\n", servers);
  return cfg;
}

haproxy_server::haproxy_server(const fs::path& dir, std::uint16_t port,
                               const std::vector<std::uint16_t>& nodes)
    : port_(port) {
  fs::create_directories(dir);
  auto cfg = dir / "haproxy.cfg";
  std::ofstream(cfg) << haproxy_config(port, nodes);
  process_.emplace("/usr/sbin/haproxy", std::vector<std::string>{"-db", "-f", cfg.string()},
                   dir / "haproxy.log");
  bool accepting = wait_until(
      [&] {
        asio::io_context io;
        net::tcp::socket s(io);
        boost::system::error_code ec;
        s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
        return !ec || !process_->running();
      },
      10s);
  if (!accepting || !process_->running())
    throw std::runtime_error("haproxy did not start; its log:\n" + last_lines(process_->log()));
}

}  // namespace hc::test

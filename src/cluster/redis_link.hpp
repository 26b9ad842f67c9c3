// cluster/redis_link: one connection to Redis for one use (the commands, or the subscriber), kept
// open by itself: resolve the host, connect, AUTH and SELECT, the use's opening command (the
// subscriber's SUBSCRIBE of every channel), then serve until the connection ends; back off
// (net/backoff on limits::redis_reconnect_schedule) and again, until stop(). Every change of
// up/down is logged and handed to `on_status`. The password is sent, never logged or said.
// Strand-confined: keep_connected() runs on the strand given here and every member is called on
// it; the owner keeps the link alive until keep_connected() has returned.
#pragma once
#include "cluster/redis_connection.hpp"
#include "cluster/redis_url.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hc::cluster {

class redis_link {
 public:
  // The command sent after logging in, each time (empty: none); computed when it is sent.
  using opening_command = std::function<std::vector<std::string>()>;
  // (up, why it went down: empty when up).
  using status_handler = std::function<void(bool, const std::string&)>;

  redis_link(const strand& s, redis_endpoint endpoint, std::string use, opening_command opening,
             message_sink on_message, status_handler on_status);

  net::task<> keep_connected();
  // Ends the open connection (its handlers get "closed") and the loop; for good.
  void stop();

  // Logged in and the opening command answered (as last reported to on_status).
  bool up() const { return up_; }
  // True from the moment the opening command is sent until the connection ends.
  bool takes_commands() const { return current_ && takes_commands_; }
  // Sends when the link takes commands; otherwise `done` gets unanswered saying why not.
  void send(const std::vector<std::string>& args, reply_handler done);

 private:
  // A sentence for callers while the link does not take commands.
  std::string down_reason() const;
  net::task<std::string> connect_and_serve();
  net::task<std::string> serve(redis_connection& connection);
  // Sends one command of the opening (AUTH, SELECT, the use's own); false, with the connection
  // dropped, when it fails.
  net::task<bool> opening_step(redis_connection& connection, const std::vector<std::string>& args);
  net::task<> sleep(std::chrono::milliseconds d);
  void set_status(bool up, std::string why);

  strand strand_;
  redis_endpoint endpoint_;
  std::string use_;  // "commands" or "subscriber", in log lines
  opening_command opening_;
  message_sink on_message_;
  status_handler on_status_;
  net::tcp::resolver resolver_;
  asio::steady_timer wake_;                    // the back-off sleep; cancelled by stop()
  std::shared_ptr<redis_connection> current_;  // while connecting or open
  bool takes_commands_ = false;                // of current_: logged in, opening command sent
  bool up_ = false;                            // as last reported
  std::string last_error_;                     // why the link last went down (or failed to come up)
  bool stopped_ = false;                       // stop() was called: no more connections
};

}  // namespace hc::cluster

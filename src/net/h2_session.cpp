// net/h2_session: nghttp2 driven from Asio (see h2_session.hpp). nghttp2 is called only under the
// core's mutex; its callbacks (run inside mem_recv, mem_send and the submit calls) update the
// streams' state and wake whoever waits on it. The read loop feeds what arrives to nghttp2; the
// write loop takes every frame nghttp2 has ready (up to write_batch bytes) and writes them at once.
#include "net/h2_session.hpp"

#include "net/byte_stream_impl.hpp"
#include "net/limits.hpp"
#include "net/spawn.hpp"
#include "net/wake_signal.hpp"
#include "proto/encoding.hpp"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace hc::net {

namespace {
constexpr std::size_t write_batch = 64 * 1024;      // bytes of frames gathered for one write
constexpr std::size_t queue_low_water = 64 * 1024;  // a stream's write returns once its queue is this short
// A stream's buffer, once drained, keeps at most this much room: a tunnel that once moved a burst
// holds nothing of it while idle, one that moves small messages does not allocate for each.
constexpr std::size_t idle_buffer_bytes = 4 * 1024;

void drained(std::string& buffer, std::size_t& pos) {
  if (buffer.capacity() > idle_buffer_bytes)
    std::string().swap(buffer);
  else
    buffer.clear();
  pos = 0;
}
constexpr std::int32_t connection_window = 16 << 20;  // given back on arrival: streams bound the memory
// A stream we closed whose last data or END_STREAM a peer does not take within this long is reset:
// a peer that stops reading cannot keep it (and what it holds) alive.
constexpr auto drain_after_close = std::chrono::seconds(10);
}  // namespace

struct h2_stream_state {
  std::weak_ptr<h2_session::core> core;
  asio::any_io_executor ex;  // the connection's
  std::int32_t id = -1;
  header_list head;  // the peer's head, pseudo-header fields first
  std::size_t head_bytes = 0;
  bool head_complete = false;
  int status = 0;  // client: the response's :status
  // received
  std::string in;
  std::size_t in_pos = 0;
  bool in_ended = false;  // the peer's END_STREAM
  // to send
  std::string out;
  std::size_t out_pos = 0;
  bool end_requested = false;  // END_STREAM once `out` is sent
  bool end_sent = false;
  bool deferred = false;  // the data provider ran dry: resume it when data comes
  bool provider_attached = false;
  // life
  bool closed_by_us = false;  // close() or reset(): nothing more is read or written
  bool gone = false;          // nghttp2 closed the stream, or the connection ended
  bool lost = false;          // ended by RST_STREAM or the connection's loss: a reset, not an end
  wake_signal readable, writable, headed;

  std::size_t queued() const { return out.size() - out_pos; }
  void wake_all() {
    readable.notify();
    writable.notify();
    headed.notify();
  }
};

struct h2_session::core : std::enable_shared_from_this<h2_session::core> {
  core(asio::any_io_executor strand, byte_stream c, h2_options o)
      : ex(std::move(strand)),
        conn(std::move(c)),
        options(o),
        remote(conn.remote_endpoint()),
        tls(conn.is_tls()) {}
  ~core() {
    if (session) nghttp2_session_del(session);
  }

  asio::any_io_executor ex;  // a strand: the loops and every operation on `conn`
  byte_stream conn;
  h2_options options;
  tcp::endpoint remote;
  bool tls;

  std::mutex mutex;
  nghttp2_session* session = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<h2_stream_state>> streams;
  std::deque<std::shared_ptr<h2_stream_state>> arrived;  // server: heads complete, not yet taken
  wake_signal accept_wake, write_wake, settings_wake;
  bool settings_received = false;
  bool ended = false;
  bool going_away = false;
  std::chrono::steady_clock::time_point last_received = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_busy = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> writing_since;  // a write is under way
  // While the write loop gathers frames: the batch DATA goes straight into (send_data).
  std::string* batch = nullptr;
  // The watch loop's timer (strand), cancelled when the connection ends so that an ended
  // connection holds no pending work on its executor.
  std::shared_ptr<asio::steady_timer> watch_timer;

  h2_stream_state* state_of(std::int32_t id) {
    return static_cast<h2_stream_state*>(nghttp2_session_get_stream_user_data(session, id));
  }

  // Every stream ends as lost and every waiter is woken (or, from a destructor, dropped).
  void end_connection(bool dropping) {
    std::unordered_map<std::int32_t, std::shared_ptr<h2_stream_state>> orphaned;
    std::deque<std::shared_ptr<h2_stream_state>> unclaimed;
    {
      std::lock_guard lock(mutex);
      if (ended && !dropping) return;
      ended = true;
      orphaned.swap(streams);
      unclaimed.swap(arrived);
      for (auto& [id, s] : orphaned) {
        s->gone = true;
        if (!s->in_ended) s->lost = true;
        // nghttp2 must never reach a state that its owners may free from now on.
        nghttp2_session_set_stream_user_data(session, id, nullptr);
      }
    }
    for (auto& [id, s] : orphaned) {
      if (dropping) {
        s->readable.drop();
        s->writable.drop();
        s->headed.drop();
      } else {
        s->wake_all();
      }
    }
    if (dropping) {
      accept_wake.drop();
      write_wake.drop();
      settings_wake.drop();
    } else {
      accept_wake.notify();
      write_wake.notify();
      settings_wake.notify();
      if (watch_timer) asio::post(ex, [timer = watch_timer] { timer->cancel(); });
    }
  }
};

namespace {

using core_t = h2_session::core;

core_t& core_of(void* user_data) {
  return *static_cast<core_t*>(user_data);
}

int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
  auto& c = core_of(user_data);
  if (!c.options.server || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  auto s = std::make_shared<h2_stream_state>();
  s->core = c.weak_from_this();
  s->ex = c.ex;
  s->id = frame->hd.stream_id;
  nghttp2_session_set_stream_user_data(session, s->id, s.get());
  c.streams.emplace(s->id, std::move(s));
  c.last_busy = std::chrono::steady_clock::now();
  return 0;
}

int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
              const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user_data) {
  auto& c = core_of(user_data);
  auto* s = c.state_of(frame->hd.stream_id);
  if (!s || s->head_complete) return 0;  // trailers carry nothing we use
  s->head_bytes += namelen + valuelen + 32;
  if (s->head_bytes > limits::max_request_head_bytes) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  std::string n(reinterpret_cast<const char*>(name), namelen);
  std::string v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":status") s->status = std::atoi(v.c_str());
  s->head.emplace_back(std::move(n), std::move(v));
  return 0;
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto& c = core_of(user_data);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && !c.settings_received) {
        c.settings_received = true;
        c.settings_wake.notify();
      }
      return 0;
    case NGHTTP2_GOAWAY:
      c.going_away = true;
      spdlog::debug("HTTP/2 connection with {}: GOAWAY from the peer: {} (last stream {})",
                    c.remote.address().to_string(), nghttp2_http2_strerror(frame->goaway.error_code),
                    frame->goaway.last_stream_id);
      return 0;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      break;
    default:
      return 0;
  }
  auto* s = c.state_of(frame->hd.stream_id);
  if (!s) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && !s->head_complete) {
    if (!c.options.server && s->status >= 100 && s->status < 200) {
      s->head.clear();  // an interim response: the final one follows
      s->head_bytes = 0;
      s->status = 0;
    } else {
      s->head_complete = true;
      if (c.options.server) {
        c.arrived.push_back(c.streams[s->id]);
        c.accept_wake.notify();
      } else {
        s->headed.notify();
      }
    }
  }
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
    s->in_ended = true;
    s->readable.notify();
  }
  return 0;
}

int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                  std::size_t len, void* user_data) {
  auto& c = core_of(user_data);
  nghttp2_session_consume_connection(session, len);  // the stream's own window bounds what it holds
  auto* s = c.state_of(id);
  if (!s || s->closed_by_us) {
    nghttp2_session_consume_stream(session, id, len);  // nobody reads it
    return 0;
  }
  s->in.append(reinterpret_cast<const char*>(data), len);
  s->readable.notify();
  return 0;
}

// Streams a peer may reset at once, then per second, before its connection is closed
// (CVE-2023-44487, rapid reset; nghttp2's own defaults, set here so that they hold whatever the
// library's build chose).
constexpr std::uint64_t stream_reset_burst = 1000;
constexpr std::uint64_t stream_resets_per_second = 33;

int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
  auto& c = core_of(user_data);
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
    // nghttp2 ends a connection that breaks the protocol or its limits (a rapid-reset flood:
    // more than stream_reset_burst streams reset at once): the operator should see who.
    spdlog::info("HTTP/2 connection with {}: closing it with GOAWAY {} after stream {}",
                 c.remote.address().to_string(), nghttp2_http2_strerror(frame->goaway.error_code),
                 frame->goaway.last_stream_id);
    return 0;
  }
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  if (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto* s = c.state_of(frame->hd.stream_id);
  if (!s) return 0;
  s->end_sent = true;
  // Closed by us while the peer still sends: it learns to stop once our data is complete.
  if (s->closed_by_us && !s->in_ended)
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
  return 0;
}

int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error, void* user_data) {
  auto& c = core_of(user_data);
  auto it = c.streams.find(id);
  if (it == c.streams.end()) return 0;
  auto s = std::move(it->second);
  c.streams.erase(it);
  s->gone = true;
  if (error != NGHTTP2_NO_ERROR || !s->in_ended) {
    s->lost = true;
    if (!s->closed_by_us)
      spdlog::debug("HTTP/2 stream {} with {} ended without END_STREAM: {}", id,
                    c.remote.address().to_string(), nghttp2_http2_strerror(error));
  }
  s->wake_all();
  if (c.streams.empty()) c.last_busy = std::chrono::steady_clock::now();
  return 0;
}

// DATA is never copied into nghttp2: read_data only says how much goes into the next frame
// (NO_COPY), send_data then appends its header and the bytes straight from the stream's queue to
// the write loop's batch. Called only from nghttp2_session_mem_send, in the write loop.
ssize_t read_data(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t length, std::uint32_t* flags,
                  nghttp2_data_source* source, void*) {
  auto* s = static_cast<h2_stream_state*>(source->ptr);
  std::size_t available = s->queued();
  if (available == 0) {
    if (s->end_requested) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    s->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  std::size_t n = std::min(available, length);
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == available && s->end_requested) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

int send_data(nghttp2_session*, nghttp2_frame*, const std::uint8_t* frame_head, std::size_t length,
              nghttp2_data_source* source, void* user_data) {
  auto& c = core_of(user_data);
  auto* s = static_cast<h2_stream_state*>(source->ptr);
  constexpr std::size_t frame_head_bytes = 9;  // no padding: we set no padding callback
  c.batch->append(reinterpret_cast<const char*>(frame_head), frame_head_bytes);
  c.batch->append(s->out, s->out_pos, length);
  s->out_pos += length;
  if (s->out_pos == s->out.size()) {
    drained(s->out, s->out_pos);
  } else if (s->out_pos >= queue_low_water) {
    s->out.erase(0, s->out_pos);
    s->out_pos = 0;
  }
  if (s->queued() <= queue_low_water) s->writable.notify();
  // A full batch ends this mem_send call: the rest waits for the next write (and nghttp2's
  // priorities and rotation among the streams stay its own).
  return c.batch->size() >= write_batch ? NGHTTP2_ERR_PAUSE : 0;
}

nghttp2_data_provider provider_for(h2_stream_state& s) {
  nghttp2_data_provider p{};
  p.source.ptr = &s;
  p.read_callback = read_data;
  return p;
}

// Header fields as nghttp2 takes them (names in lower case, as HTTP/2 requires).
struct field_list {
  explicit field_list(const header_list& fields) {
    names.reserve(fields.size());
    for (const auto& [name, value] : fields) names.push_back(proto::to_lower(name));
    for (std::size_t i = 0; i < fields.size(); ++i) {
      nghttp2_nv nv{};
      nv.name = reinterpret_cast<std::uint8_t*>(names[i].data());
      nv.namelen = names[i].size();
      nv.value = reinterpret_cast<std::uint8_t*>(const_cast<char*>(fields[i].second.data()));
      nv.valuelen = fields[i].second.size();
      nv.flags = NGHTTP2_NV_FLAG_NONE;
      nva.push_back(nv);
    }
  }
  std::vector<std::string> names;
  std::vector<nghttp2_nv> nva;
};

// The core and its mutex for a stream's operation; null once the connection is gone.
struct locked_core {
  explicit locked_core(const std::shared_ptr<h2_stream_state>& s) : c(s->core.lock()) {
    if (c) lock = std::unique_lock(c->mutex);
  }
  std::shared_ptr<core_t> c;
  std::unique_lock<std::mutex> lock;
};

}  // namespace

// --- h2_stream ---

const header_list& h2_stream::peer_head() const {
  return s_->head;
}

header_list h2_stream::take_peer_head() {
  locked_core l(s_);
  return std::move(s_->head);
}

void h2_stream::respond(int status, const header_list& fields) {
  locked_core l(s_);
  if (!l.c || s_->gone || s_->provider_attached) return;
  header_list head{{":status", std::to_string(status)}};
  head.insert(head.end(), fields.begin(), fields.end());
  field_list f(head);
  auto provider = provider_for(*s_);
  if (nghttp2_submit_response(l.c->session, s_->id, f.nva.data(), f.nva.size(), &provider) == 0)
    s_->provider_attached = true;
  l.lock.unlock();
  l.c->write_wake.notify();
}

task<std::optional<int>> h2_stream::response_head() {
  for (;;) {
    {
      locked_core l(s_);
      if (s_->head_complete) co_return s_->status;
      if (!l.c || s_->gone || s_->closed_by_us) co_return std::nullopt;
    }
    bool woken = co_await s_->headed.wait();
    if (!woken) co_return std::nullopt;
  }
}

namespace {
// Under the core's lock (`c` null once the connection is gone): the bytes received first, then how
// the stream ended; nullopt while there is nothing yet. The stream's window is given back for
// what is handed out.
std::optional<io_result> take_received(core_t* c, h2_stream_state& s, asio::mutable_buffer b) {
  if (s.closed_by_us) return io_result{asio::error::operation_aborted, 0};
  if (s.in.size() > s.in_pos) {
    std::size_t n = std::min(b.size(), s.in.size() - s.in_pos);
    std::memcpy(b.data(), s.in.data() + s.in_pos, n);
    s.in_pos += n;
    if (s.in_pos == s.in.size()) drained(s.in, s.in_pos);
    if (c && !s.gone) nghttp2_session_consume_stream(c->session, s.id, n);
    return io_result{{}, n};
  }
  if (s.in_ended) return io_result{asio::error::eof, 0};
  if (s.lost || !c) return io_result{asio::error::connection_reset, 0};
  return std::nullopt;
}
}  // namespace

task<io_result> h2_stream::read_some(asio::mutable_buffer b) {
  for (;;) {
    {
      locked_core l(s_);
      if (auto r = take_received(l.c.get(), *s_, b)) {
        if (l.c && r->bytes) {
          l.lock.unlock();
          l.c->write_wake.notify();  // a WINDOW_UPDATE may be due
        }
        co_return *r;
      }
    }
    bool woken = co_await s_->readable.wait();
    if (!woken) co_return io_result{asio::error::operation_aborted, 0};
  }
}

io_result h2_stream::read_available(asio::mutable_buffer b) {
  locked_core l(s_);
  auto r = take_received(l.c.get(), *s_, b);
  if (r && l.c && r->bytes) {
    l.lock.unlock();
    l.c->write_wake.notify();
  }
  return r.value_or(io_result{});
}

task<io_result> h2_stream::write(std::span<const asio::const_buffer> bufs) {
  std::size_t n = 0;
  {
    locked_core l(s_);
    if (s_->closed_by_us) co_return io_result{asio::error::operation_aborted, 0};
    if (!l.c || s_->lost) co_return io_result{asio::error::connection_reset, 0};
    if (s_->gone || s_->end_requested) co_return io_result{asio::error::broken_pipe, 0};
    for (const auto& b : bufs) {
      s_->out.append(static_cast<const char*>(b.data()), b.size());
      n += b.size();
    }
    if (s_->deferred && s_->provider_attached) {
      s_->deferred = false;
      nghttp2_session_resume_data(l.c->session, s_->id);
    }
    l.lock.unlock();
    l.c->write_wake.notify();
  }
  for (;;) {
    {
      locked_core l(s_);
      if (s_->closed_by_us) co_return io_result{asio::error::operation_aborted, 0};
      if (!l.c || s_->lost) co_return io_result{asio::error::connection_reset, 0};
      if (s_->queued() <= queue_low_water || s_->gone) co_return io_result{{}, n};
    }
    bool woken = co_await s_->writable.wait();
    if (!woken) co_return io_result{asio::error::operation_aborted, 0};
  }
}

namespace {
// END_STREAM after what is queued (under the core's lock).
void request_end(core_t& c, h2_stream_state& s) {
  if (s.end_requested || s.gone) return;
  s.end_requested = true;
  if (s.deferred && s.provider_attached) {
    s.deferred = false;
    nghttp2_session_resume_data(c.session, s.id);
  }
}
}  // namespace

void h2_stream::end() {
  locked_core l(s_);
  if (!l.c || s_->closed_by_us) return;
  request_end(*l.c, *s_);
  l.lock.unlock();
  l.c->write_wake.notify();
}

void h2_stream::close() {
  {
    locked_core l(s_);
    if (s_->closed_by_us) return;
    s_->closed_by_us = true;
    if (l.c && !s_->gone) {
      auto timer = std::make_shared<asio::steady_timer>(s_->ex, drain_after_close);
      timer->async_wait([timer, weak = std::weak_ptr<h2_stream_state>(s_)](error_code) {
        auto s = weak.lock();  // still open in nghttp2 (its table holds it): cut it
        if (!s) return;
        locked_core late(s);
        if (!late.c || s->gone) return;
        nghttp2_submit_rst_stream(late.c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
        late.lock.unlock();
        late.c->write_wake.notify();
      });
      if (!s_->provider_attached) {  // a server stream never answered: nothing orderly to say
        nghttp2_submit_rst_stream(l.c->session, NGHTTP2_FLAG_NONE, s_->id, NGHTTP2_CANCEL);
      } else {
        request_end(*l.c, *s_);
        if (s_->end_sent && !s_->in_ended)
          nghttp2_submit_rst_stream(l.c->session, NGHTTP2_FLAG_NONE, s_->id, NGHTTP2_NO_ERROR);
      }
      if (auto unread = s_->in.size() - s_->in_pos)
        nghttp2_session_consume_stream(l.c->session, s_->id, unread);
      s_->in.clear();
      s_->in_pos = 0;
      l.lock.unlock();
      l.c->write_wake.notify();
    }
  }
  s_->wake_all();
}

void h2_stream::reset() {
  {
    locked_core l(s_);
    if (s_->closed_by_us) return;
    s_->closed_by_us = true;
    if (l.c && !s_->gone) {
      nghttp2_submit_rst_stream(l.c->session, NGHTTP2_FLAG_NONE, s_->id, NGHTTP2_CANCEL);
      l.lock.unlock();
      l.c->write_wake.notify();
    }
  }
  s_->wake_all();
}

bool h2_stream::peer_ended() const {
  locked_core l(s_);
  return s_->in_ended;
}

bool h2_stream::is_open() const {
  locked_core l(s_);
  return !s_->closed_by_us;
}

tcp::endpoint h2_stream::remote_endpoint() const {
  auto c = s_->core.lock();
  return c ? c->remote : tcp::endpoint{};
}

asio::any_io_executor h2_stream::executor() const {
  return s_->ex;
}

bool h2_stream::over_tls() const {
  auto c = s_->core.lock();
  return c && c->tls;
}

// --- the stream as a byte_stream ---

namespace {

struct h2_stream_impl final : byte_stream::impl {
  h2_stream_impl(h2_stream s, const asio::any_io_executor& ex)
      : stream(std::move(s)), unused_socket(ex), remote(stream.remote_endpoint()), tls(stream.over_tls()) {}
  ~h2_stream_impl() override { stream.reset(); }  // dropped without close(): the peer sees a reset

  tcp::socket& socket() override { return unused_socket; }
  task<io_result> read_some(asio::mutable_buffer b) override { return stream.read_some(b); }
  task<io_result> write(std::span<const asio::const_buffer> bufs) override { return stream.write(bufs); }
  io_result read_available(asio::mutable_buffer b) override { return stream.read_available(b); }
  void shutdown_send() override { stream.end(); }
  bool is_tls() const override { return tls; }
  task<error_code> handshake(bool, std::string_view) override {
    co_return asio::error::operation_not_supported;
  }
  bool is_open() override { return stream.is_open(); }
  tcp::endpoint remote_endpoint() override { return remote; }
  void close_transport(bool with_reset) override { with_reset ? stream.reset() : stream.close(); }
  void reset_on_abandon() override {}  // dropping the stream resets it already

  h2_stream stream;
  tcp::socket unused_socket;  // never opened: byte_stream's socket() has nothing else to give
  tcp::endpoint remote;
  bool tls;
};

}  // namespace

byte_stream as_byte_stream(h2_stream stream) {
  auto ex = stream.executor();
  return byte_stream::adopt(std::make_unique<h2_stream_impl>(std::move(stream), ex));
}

// --- the session ---

namespace {

task<> read_loop(std::shared_ptr<core_t> c) {
  // Torn down with its executor: streams and loops still waiting are dropped, not resumed.
  struct on_exit {
    core_t& c;
    bool finished = false;
    ~on_exit() { c.end_connection(!finished); }
  } exit_guard{*c};
  std::vector<std::uint8_t> buffer(32 * 1024);
  for (;;) {
    auto r = co_await c->conn.read_some(asio::buffer(buffer));
    if (r.ec) {
      spdlog::debug("HTTP/2 connection with {}: read {}", c->remote.address().to_string(), r.ec.message());
      break;
    }
    bool fatal = false;
    {
      std::lock_guard lock(c->mutex);
      if (c->ended) break;
      c->last_received = std::chrono::steady_clock::now();
      auto used = nghttp2_session_mem_recv(c->session, buffer.data(), r.bytes);
      if (used < 0) {
        spdlog::debug("HTTP/2 connection with {}: {}", c->remote.address().to_string(),
                      nghttp2_strerror(static_cast<int>(used)));
        fatal = true;
      }
    }
    c->write_wake.notify();
    if (fatal) break;
  }
  exit_guard.finished = true;
  c->end_connection(false);
  c->conn.close();
}

task<> write_loop(std::shared_ptr<core_t> c) {
  std::string out;
  for (;;) {
    bool finished = false;
    out.clear();
    {
      std::lock_guard lock(c->mutex);
      if (c->ended) break;
      c->batch = &out;
      while (out.size() < write_batch) {
        const std::uint8_t* data = nullptr;
        auto n = nghttp2_session_mem_send(c->session, &data);
        if (n <= 0) {
          finished = n < 0;
          break;
        }
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      }
      c->batch = nullptr;
      if (!finished && out.empty())
        finished = !nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session);
      if (!out.empty()) c->writing_since = std::chrono::steady_clock::now();
    }
    if (!out.empty()) {
      auto w = co_await c->conn.write(asio::buffer(out));
      if (w.ec) break;
      std::lock_guard lock(c->mutex);
      c->writing_since.reset();
      continue;
    }
    if (finished) break;
    co_await c->write_wake.wait();
  }
  c->end_connection(false);
  c->conn.close();  // the read loop wakes with an error and ends too
}

// Client: PING a silent connection, give it up when the PING goes unanswered. Server: close a
// connection that has carried no stream for idle_timeout. Both: cut a connection whose peer has
// taken nothing of a write for write_timeout.
task<> watch_loop(std::weak_ptr<core_t> weak, std::shared_ptr<asio::steady_timer> timer,
                  std::chrono::steady_clock::duration every) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  for (;;) {
    timer->expires_after(every);
    auto [ec] = co_await timer->async_wait(use_tuple);
    auto c = weak.lock();
    if (ec || !c) co_return;
    auto now = std::chrono::steady_clock::now();
    const auto& o = c->options;
    std::string cut;  // why the connection is cut at once (no GOAWAY could go out)
    {
      std::lock_guard lock(c->mutex);
      if (c->ended) co_return;
      if (c->writing_since && o.write_timeout.count() > 0 && now - *c->writing_since >= o.write_timeout) {
        cut = fmt::format("has not taken our last write in {} s",
                          duration_cast<seconds>(o.write_timeout).count());
      } else if (o.server && o.idle_timeout.count() > 0) {
        // Streams whose head never completed (a header block left open) do not count as use.
        bool in_use = std::any_of(c->streams.begin(), c->streams.end(),
                                  [](const auto& entry) { return entry.second->head_complete; });
        if (!in_use && now - c->last_busy >= o.idle_timeout)
          nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
      } else if (!o.server && o.keepalive.count() > 0) {
        if (now - c->last_received >= 2 * o.keepalive)
          cut = fmt::format("unanswered for {} s", duration_cast<seconds>(2 * o.keepalive).count());
        else if (now - c->last_received >= o.keepalive)
          nghttp2_submit_ping(c->session, NGHTTP2_FLAG_NONE, nullptr);
      }
    }
    if (cut.empty()) {
      c->write_wake.notify();
      continue;
    }
    spdlog::info("HTTP/2 connection with {} {}: closing it", c->remote.address().to_string(), cut);
    c->end_connection(false);
    c->conn.close();  // on the connection's strand, as the loops: their pending operations end
    co_return;
  }
}

nghttp2_session_callbacks* make_callbacks() {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_send_data_callback(cbs, send_data);
  return cbs;
}

}  // namespace

h2_session::h2_session(std::shared_ptr<core> c) : core_(std::move(c)) {}

h2_session::~h2_session() = default;

std::shared_ptr<h2_session> h2_session::start(asio::any_io_executor ex, byte_stream connection,
                                              h2_options options) {
  auto strand = asio::make_strand(ex);
  auto c = std::make_shared<core>(strand, std::move(connection), options);
  static nghttp2_session_callbacks* callbacks = make_callbacks();
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_stream_reset_rate_limit(opt, stream_reset_burst, stream_resets_per_second);
  if (options.server)
    nghttp2_session_server_new2(&c->session, callbacks, c.get(), opt);
  else
    nghttp2_session_client_new2(&c->session, callbacks, c.get(), opt);
  nghttp2_option_del(opt);
  std::vector<nghttp2_settings_entry> settings{
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(limits::max_request_head_bytes)}};
  if (options.server) {
    settings.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams});
    settings.push_back({NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1});
  } else {
    settings.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  }
  nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, connection_window);
  auto every = options.server ? options.idle_timeout : options.keepalive / 2;
  auto write_check = options.write_timeout / 2;
  if (write_check.count() > 0 && (every.count() == 0 || write_check < every)) every = write_check;
  if (every.count() > 0) c->watch_timer = std::make_shared<asio::steady_timer>(strand);
  asio::co_spawn(strand, read_loop(c), log_failure("HTTP/2 read loop"));
  asio::co_spawn(strand, write_loop(c), log_failure("HTTP/2 write loop"));
  if (c->watch_timer)
    asio::co_spawn(strand, watch_loop(c, c->watch_timer, every), log_failure("HTTP/2 keepalive"));
  return std::shared_ptr<h2_session>(new h2_session(std::move(c)));
}

task<std::optional<h2_stream>> h2_session::next_stream() {
  for (;;) {
    {
      std::lock_guard lock(core_->mutex);
      if (!core_->arrived.empty()) {
        auto s = std::move(core_->arrived.front());
        core_->arrived.pop_front();
        co_return h2_stream(std::move(s));
      }
      if (core_->ended) co_return std::nullopt;
    }
    bool woken = co_await core_->accept_wake.wait();
    if (!woken) co_return std::nullopt;
  }
}

task<bool> h2_session::ready() {
  for (;;) {
    {
      std::lock_guard lock(core_->mutex);
      if (core_->settings_received) co_return true;
      if (core_->ended) co_return false;
    }
    bool woken = co_await core_->settings_wake.wait();
    if (!woken) co_return false;
  }
}

bool h2_session::accepts_websocket() const {
  std::lock_guard lock(core_->mutex);
  return nghttp2_session_get_remote_settings(core_->session, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1;
}

h2_stream h2_session::open(const header_list& head) {
  auto s = std::make_shared<h2_stream_state>();
  s->core = core_;
  s->ex = core_->ex;
  {
    std::lock_guard lock(core_->mutex);
    if (core_->ended || core_->going_away) return {};
    field_list f(head);
    auto provider = provider_for(*s);
    auto id = nghttp2_submit_request(core_->session, nullptr, f.nva.data(), f.nva.size(), &provider, s.get());
    if (id < 0) return {};
    s->id = id;
    s->provider_attached = true;
    core_->streams.emplace(id, s);
    core_->last_busy = std::chrono::steady_clock::now();
  }
  core_->write_wake.notify();
  return h2_stream(std::move(s));
}

std::size_t h2_session::open_streams() const {
  std::lock_guard lock(core_->mutex);
  return core_->streams.size();
}

bool h2_session::usable() const {
  std::lock_guard lock(core_->mutex);
  if (core_->ended || core_->going_away) return false;
  if (!core_->settings_received) return true;
  auto max = nghttp2_session_get_remote_settings(core_->session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return core_->streams.size() < max;
}

void h2_session::shut_down() {
  {
    std::lock_guard lock(core_->mutex);
    if (core_->ended) return;
    nghttp2_session_terminate_session(core_->session, NGHTTP2_NO_ERROR);
  }
  core_->write_wake.notify();
}

}  // namespace hc::net

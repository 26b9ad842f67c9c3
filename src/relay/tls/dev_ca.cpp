// relay/tls/dev_ca: --dev-tls. Issues (or reuses) a development CA and a server certificate for the
// requested names with OpenSSL 3, and writes them under tls_dir with private modes (dir 0700, keys
// 0600). Not the TLS context that serves them (net/tls) and not trust-store installation (the user
// copies ca.pem). Runs once at start-up on the calling thread; nothing is kept after it returns.
#include "relay/tls/dev_ca.hpp"

#include "util/private_file.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace hc::relay {
namespace {

constexpr long ca_validity_days = 3650;     // a development CA outlives any checkout it is used with
constexpr long server_validity_days = 825;  // the longest leaf lifetime Apple's TLS stack accepts
constexpr long renew_before_days = 30;      // reissue early so a running relay never serves an expired cert
constexpr long backdate_seconds = 3600;     // tolerate clients whose clock is a little behind
constexpr int serial_bytes = 16;            // 128 random bits, as CAs use since the MD5 collisions

template <auto free_fn>
struct openssl_free {
  template <class T>
  void operator()(T* p) const {
    free_fn(p);
  }
};
using x509_ptr = std::unique_ptr<X509, openssl_free<X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_free<EVP_PKEY_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_free<BIO_free_all>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_free<BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, openssl_free<X509_EXTENSION_free>>;
using general_names_ptr = std::unique_ptr<GENERAL_NAMES, openssl_free<GENERAL_NAMES_free>>;
using general_name_ptr = std::unique_ptr<GENERAL_NAME, openssl_free<GENERAL_NAME_free>>;

struct key_pair {
  x509_ptr cert;
  pkey_ptr key;
};

// Drains OpenSSL's error queue into the message, so the reason is OpenSSL's, not ours.
[[noreturn]] void fail(const std::string& what) {
  std::string msg = "dev tls: " + what;
  const char* sep = ": ";
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += sep;
    msg += buf;
    sep = "; ";
  }
  throw std::runtime_error(msg);
}

[[noreturn]] void fail_errno(const std::string& what, const std::string& path) {
  throw std::runtime_error("dev tls: " + what + " " + path + ": " + std::strerror(errno));
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes through a temporary file created with `mode` and renamed over `path`, so a reader never
// sees a half-written file and a key is never readable by others, not even for a moment.
void write_file(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) fail_errno("create", tmp);
  bool ok = ::fchmod(fd, mode) == 0;
  for (std::size_t done = 0; ok && done < content.size();) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (!ok) fail_errno("write", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail_errno("rename into place", path);
}

bio_ptr memory_bio(const std::string& pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) fail("allocate memory BIO");
  return bio;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// Parse failures are expected (a missing or damaged file means "issue anew"), so they clear the
// error queue instead of throwing.
x509_ptr parse_first_cert(const std::optional<std::string>& pem) {
  if (!pem) return nullptr;
  x509_ptr cert(PEM_read_bio_X509(memory_bio(*pem).get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

pkey_ptr parse_key(const std::optional<std::string>& pem) {
  if (!pem) return nullptr;
  pkey_ptr key(PEM_read_bio_PrivateKey(memory_bio(*pem).get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

std::string cert_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("encode certificate as PEM");
  return bio_contents(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("encode private key as PEM");
  return bio_contents(bio.get());
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 || ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// True when `cert` is still valid `days` from now (and already valid now).
bool valid_for(X509* cert, long days) {
  std::time_t now = std::time(nullptr);
  std::time_t later = now + days * 24 * 3600;
  return X509_cmp_time(X509_get0_notBefore(cert), &now) < 0 &&
         X509_cmp_time(X509_get0_notAfter(cert), &later) > 0;
}

bool san_covers(X509* cert, const std::vector<std::string>& names) {
  const unsigned flags = X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS;
  for (const auto& name : names) {
    int ok = is_ip_literal(name) ? X509_check_ip_asc(cert, name.c_str(), flags)
                                 : X509_check_host(cert, name.data(), name.size(), flags, nullptr);
    if (ok != 1) return false;
  }
  return true;
}

pkey_ptr make_key() {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("generate EC P-256 key");
  return key;
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    fail(std::string("add extension ") + OBJ_nid2sn(nid) + "=" + value);
}

// Built as GENERAL_NAMEs rather than a "DNS:a,IP:b" config string, so no name can inject syntax.
void add_subject_alt_names(X509* cert, const std::vector<std::string>& names) {
  general_names_ptr gens(sk_GENERAL_NAME_new_null());
  if (!gens) fail("allocate subjectAltName");
  for (const auto& name : names) {
    general_name_ptr gen(GENERAL_NAME_new());
    if (!gen) fail("allocate subjectAltName entry");
    if (is_ip_literal(name)) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str());
      if (!ip) fail("encode IP address " + name);
      GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, ip);
    } else {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (!dns || ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        fail("encode DNS name " + name);
      }
      GENERAL_NAME_set0_value(gen.get(), GEN_DNS, dns);
    }
    if (sk_GENERAL_NAME_push(gens.get(), gen.get()) == 0) fail("add subjectAltName entry " + name);
    gen.release();  // owned by gens now
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT) != 1)
    fail("add subjectAltName");
}

// A certificate skeleton: version 3, random serial, subject CN, validity from a little in the
// past to `days` from now, and the subject's public key.
x509_ptr new_cert(const std::string& common_name, EVP_PKEY* subject_key, long days) {
  x509_ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("allocate certificate");

  unsigned char serial[serial_bytes];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("generate serial number");
  serial[0] |= 0x01;  // never all zero; serials must be positive and non-zero
  bignum_ptr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) fail("set serial number");

  X509_NAME* subject = X509_get_subject_name(cert.get());
  // A CN is limited to 64 characters; a longer host name is carried by the SAN alone.
  if (common_name.size() <= 64 &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1)
    fail("set subject CN=" + common_name);

  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -backdate_seconds) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0, nullptr))
    fail("set validity");
  if (X509_set_pubkey(cert.get(), subject_key) != 1) fail("set public key");
  return cert;
}

key_pair issue_ca() {
  pkey_ptr key = make_key();
  x509_ptr cert = new_cert("hcrelay development CA", key.get(), ca_validity_days);
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) fail("set CA issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("sign CA certificate");
  return {std::move(cert), std::move(key)};
}

key_pair issue_server(const key_pair& ca, const std::vector<std::string>& names) {
  pkey_ptr key = make_key();
  x509_ptr cert = new_cert(names.front(), key.get(), server_validity_days);
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get())) != 1)
    fail("set server certificate issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  add_subject_alt_names(cert.get(), names);
  if (X509_sign(cert.get(), ca.key.get(), EVP_sha256()) == 0) fail("sign server certificate");
  return {std::move(cert), std::move(key)};
}

// The existing CA, when both files parse, the key is the certificate's, and it is not about to
// expire (a leaf signed by an expiring CA would be useless).
std::optional<key_pair> load_ca(const std::string& cert_path, const std::string& key_path) {
  key_pair ca{parse_first_cert(read_file(cert_path)), parse_key(read_file(key_path))};
  bool usable = ca.cert && ca.key && X509_check_private_key(ca.cert.get(), ca.key.get()) == 1 &&
                valid_for(ca.cert.get(), renew_before_days);
  ERR_clear_error();
  if (!usable) return std::nullopt;
  return ca;
}

// The existing server certificate is kept when it is the key's, signed by this CA, valid for
// the renewal window and names every requested host.
bool server_reusable(const std::string& cert_path, const std::string& key_path, const key_pair& ca,
                     const std::vector<std::string>& names) {
  x509_ptr cert = parse_first_cert(read_file(cert_path));
  pkey_ptr key = parse_key(read_file(key_path));
  bool ok = cert && key && X509_check_private_key(cert.get(), key.get()) == 1 &&
            X509_verify(cert.get(), X509_get0_pubkey(ca.cert.get())) == 1 &&
            valid_for(cert.get(), renew_before_days) && san_covers(cert.get(), names);
  ERR_clear_error();
  return ok;
}

}  // namespace

dev_tls_files ensure_dev_tls(const std::string& tls_dir, const std::vector<std::string>& names) {
  if (names.empty())
    throw std::runtime_error("dev tls: no names for the server certificate; pass at least one");
  util::ensure_private_dir(tls_dir);
  const std::string ca_pem = tls_dir + "/ca.pem", ca_key = tls_dir + "/ca.key";
  const std::string server_pem = tls_dir + "/server.pem", server_key = tls_dir + "/server.key";

  std::optional<key_pair> ca = load_ca(ca_pem, ca_key);
  if (!ca) {
    ca = issue_ca();
    write_file(ca_key, key_pem(ca->key.get()), 0600);
    write_file(ca_pem, cert_pem(ca->cert.get()), 0644);
  }
  if (!server_reusable(server_pem, server_key, *ca, names)) {
    key_pair server = issue_server(*ca, names);
    write_file(server_key, key_pem(server.key.get()), 0600);
    write_file(server_pem, cert_pem(server.cert.get()) + cert_pem(ca->cert.get()), 0644);
  }
  return {ca_pem, server_pem, server_key};
}

}  // namespace hc::relay

// Unit tests for relay/tls/dev_ca: a fresh directory gets a CA and a server certificate with private
// modes; the server certificate verifies against ca.pem for localhost and 127.0.0.1; a second
// call reuses the files; a new name reissues the server certificate and keeps the CA; a damaged
// server certificate is replaced. Each test runs in its own temporary directory.
#include "relay/tls/dev_ca.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

namespace hc::relay {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

struct x509_free_fn {
  void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_free_fn>;

// All certificates in a PEM file, in order.
std::vector<x509_ptr> certs_in(const fs::path& p) {
  std::string pem = read(p);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::vector<x509_ptr> out;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.emplace_back(x);
  BIO_free(bio);
  return out;
}

// X509_verify_cert of `leaf` with ca.pem as the only trust anchor, for the SSL server purpose.
int verify(X509* leaf, X509* ca) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  int ok = X509_verify_cert(ctx);
  if (ok != 1) ADD_FAILURE() << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

class DevTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() / ("hc-dev-tls-test-" + std::to_string(rd()) + std::to_string(rd()));
    dir_ = root_ / "data" / "tls";
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_, dir_;
  const std::vector<std::string> names_{"localhost", "127.0.0.1", "::1"};
};

TEST_F(DevTlsTest, CreatesFilesWithPrivateModes) {
  auto files = ensure_dev_tls(dir_.string(), names_);
  EXPECT_EQ(files.ca_pem, (dir_ / "ca.pem").string());
  EXPECT_EQ(files.server_pem, (dir_ / "server.pem").string());
  EXPECT_EQ(files.server_key, (dir_ / "server.key").string());
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(mode_of(dir_ / "ca.key"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "server.key"), 0600u);
  EXPECT_TRUE(fs::exists(dir_ / "ca.pem"));
  EXPECT_FALSE(fs::exists(dir_ / "server.pem.tmp"));
}

TEST_F(DevTlsTest, ServerCertificateVerifiesAgainstCa) {
  auto files = ensure_dev_tls(dir_.string(), names_);
  auto ca = certs_in(files.ca_pem);
  auto chain = certs_in(files.server_pem);
  ASSERT_EQ(ca.size(), 1u);
  ASSERT_EQ(chain.size(), 2u);  // leaf, then the CA
  EXPECT_EQ(X509_cmp(chain[1].get(), ca[0].get()), 0);
  X509* leaf = chain[0].get();

  EXPECT_EQ(verify(leaf, ca[0].get()), 1);
  EXPECT_EQ(X509_check_host(leaf, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "::1", 0), 1);
  EXPECT_NE(X509_check_host(leaf, "example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ca(ca[0].get()), 1);
  EXPECT_EQ(X509_check_ca(leaf), 0);

  // The key file belongs to the leaf.
  std::string key_pem = read(files.server_key);
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(leaf, key), 1);
  EVP_PKEY_free(key);
}

TEST_F(DevTlsTest, SecondCallReusesFiles) {
  ensure_dev_tls(dir_.string(), names_);
  std::string ca = read(dir_ / "ca.pem"), server = read(dir_ / "server.pem"), key = read(dir_ / "server.key");
  ensure_dev_tls(dir_.string(), {"localhost"});  // a subset is covered too
  EXPECT_EQ(read(dir_ / "ca.pem"), ca);
  EXPECT_EQ(read(dir_ / "server.pem"), server);
  EXPECT_EQ(read(dir_ / "server.key"), key);
}

TEST_F(DevTlsTest, NewNameReissuesServerCertificateButKeepsCa) {
  ensure_dev_tls(dir_.string(), names_);
  std::string ca = read(dir_ / "ca.pem"), ca_key = read(dir_ / "ca.key"), server = read(dir_ / "server.pem");

  auto names = names_;
  names.push_back("relay.example.com");
  auto files = ensure_dev_tls(dir_.string(), names);

  EXPECT_EQ(read(dir_ / "ca.pem"), ca);
  EXPECT_EQ(read(dir_ / "ca.key"), ca_key);
  EXPECT_NE(read(dir_ / "server.pem"), server);
  auto chain = certs_in(files.server_pem);
  auto ca_certs = certs_in(files.ca_pem);
  ASSERT_EQ(chain.size(), 2u);
  ASSERT_EQ(ca_certs.size(), 1u);
  EXPECT_EQ(verify(chain[0].get(), ca_certs[0].get()), 1);
  EXPECT_EQ(X509_check_host(chain[0].get(), "relay.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(chain[0].get(), "localhost", 0, 0, nullptr), 1);
}

TEST_F(DevTlsTest, DamagedServerCertificateIsReplaced) {
  ensure_dev_tls(dir_.string(), names_);
  std::string ca = read(dir_ / "ca.pem");
  std::ofstream(dir_ / "server.pem") << "not a certificate";
  auto files = ensure_dev_tls(dir_.string(), names_);
  EXPECT_EQ(read(dir_ / "ca.pem"), ca);
  auto chain = certs_in(files.server_pem);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(verify(chain[0].get(), certs_in(files.ca_pem)[0].get()), 1);
}

TEST_F(DevTlsTest, DamagedCaKeyReissuesEverything) {
  ensure_dev_tls(dir_.string(), names_);
  std::string ca = read(dir_ / "ca.pem");
  std::ofstream(dir_ / "ca.key") << "garbage";
  auto files = ensure_dev_tls(dir_.string(), names_);
  EXPECT_NE(read(dir_ / "ca.pem"), ca);
  EXPECT_EQ(mode_of(dir_ / "ca.key"), 0600u);
  auto chain = certs_in(files.server_pem);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(verify(chain[0].get(), certs_in(files.ca_pem)[0].get()), 1);
}

TEST_F(DevTlsTest, NoNamesThrows) {
  EXPECT_THROW(ensure_dev_tls(dir_.string(), {}), std::runtime_error);
}

}  // namespace
}  // namespace hc::relay

// Unit tests for proto/sas: the §2.2 test vector, token parsing in every client's spelling,
// token scopes for every sr form in §2.3, and rights.
#include "proto/sas.hpp"

#include "proto/encoding.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace hc::proto {
namespace {

constexpr std::string_view key_text = "SGVsbG9Xb3JsZEhlbGxvV29ybGRIZWxsb1dvcmxkMTI=";
constexpr std::string_view sr_upper = "http%3A%2F%2Fcontoso.servicebus.windows.net%2Fhyco";
constexpr std::string_view sr_lower = "http%3a%2f%2fcontoso.servicebus.windows.net%2fhyco";
constexpr std::int64_t se = 1700000000;
constexpr std::string_view vector_token =
    "SharedAccessSignature "
    "sr=http%3A%2F%2Fcontoso.servicebus.windows.net%2Fhyco&sig=nB3K%2B2%2FgUr0ucLo8CLArrTwXPY2"
    "FbkQ5N1bs3UFTVXg%3D&se=1700000000&skn=RootManageSharedAccessKey";
constexpr std::string_view ns = "contoso.servicebus.windows.net";

std::string raw_sig(std::string_view b64) {
  return *base64_decode(b64);
}

TEST(ProtoSas, SignsTheDocTestVector) {
  const sas_key key(key_text);
  EXPECT_EQ(key.sign(sr_upper, se), "nB3K+2/gUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg=");
  // The raw sr is signed: lower-case hex escapes give another signature.
  EXPECT_EQ(key.sign(sr_lower, se), "pIN0RWTQ15eoMLgWCyZehr98JRJnS7OKPB6PtaQQc+E=");
}

TEST(ProtoSas, KeyIsNotBase64Decoded) {
  const std::string decoded_key = *base64_decode(key_text);
  const sas_key wrong(decoded_key);
  EXPECT_EQ(wrong.sign(sr_upper, se), "EMMnv2mk2oU3IcwNg2KaQkb7YvmfPYeVH9LJol4fQfQ=");
  auto token = parse_sas_token(vector_token);
  ASSERT_TRUE(token);
  EXPECT_FALSE(wrong.verifies(*token));
  EXPECT_TRUE(sas_key(key_text).verifies(*token));
}

TEST(ProtoSas, MakeSasTokenReproducesTheDocToken) {
  EXPECT_EQ(
      make_sas_token("http://contoso.servicebus.windows.net/hyco", "RootManageSharedAccessKey", key_text, se),
      vector_token);
}

TEST(ProtoSas, ParsesTheDocToken) {
  auto t = parse_sas_token(vector_token);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->resource, sr_upper);  // kept raw
  EXPECT_EQ(t->signature, raw_sig("nB3K+2/gUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg="));
  EXPECT_EQ(t->signature.size(), 32u);
  EXPECT_EQ(t->expiry, se);
  EXPECT_EQ(t->key_name, "RootManageSharedAccessKey");
}

TEST(ProtoSas, LowerCaseHexSrVerifiesOnlyWithItsOwnSignature) {
  const sas_key key(key_text);
  const std::string lower_token = "SharedAccessSignature sr=" + std::string(sr_lower) +
                                  "&sig=" + percent_encode("pIN0RWTQ15eoMLgWCyZehr98JRJnS7OKPB6PtaQQc+E=") +
                                  "&se=1700000000&skn=RootManageSharedAccessKey";
  auto t = parse_sas_token(lower_token);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->resource, sr_lower);
  EXPECT_TRUE(key.verifies(*t));
  // Upper-case signature over a lower-case sr must fail: the verifier never canonicalises.
  t->signature = raw_sig("nB3K+2/gUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg=");
  EXPECT_FALSE(key.verifies(*t));
}

TEST(ProtoSas, ParseAcceptsAnyOrderAndCase) {
  const std::string sig = "nB3K%2B2%2FgUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg%3D";
  for (const std::string& text : {
           "sharedaccesssignature sig=" + sig +
               "&se=1700000000&skn=RootManageSharedAccessKey&sr=" + std::string(sr_upper),
           "SHAREDACCESSSIGNATURE SKN=RootManageSharedAccessKey&SE=1700000000&SR=" + std::string(sr_upper) +
               "&SIG=" + sig,
           "  SharedAccessSignature   sr=" + std::string(sr_upper) + "&sig=" + sig +
               "&se=1700000000&skn=RootManageSharedAccessKey&extra=1  ",
       }) {
    auto t = parse_sas_token(text);
    ASSERT_TRUE(t) << text << ": " << t.error().message;
    EXPECT_EQ(t->resource, sr_upper);
    EXPECT_EQ(t->expiry, se);
    EXPECT_TRUE(sas_key(key_text).verifies(*t)) << text;
  }
}

TEST(ProtoSas, ParseHandlesUnencodedSigAndSpaceForPlus) {
  const sas_key key(key_text);
  // Node-style raw sig (not URL-encoded).
  auto raw = parse_sas_token("SharedAccessSignature sr=" + std::string(sr_upper) +
                             "&sig=nB3K+2/gUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg=&se=1700000000&skn=k");
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_TRUE(key.verifies(*raw));
  // Pasted into a query unencoded: '+' arrived as ' '.
  auto spaced = parse_sas_token("SharedAccessSignature sr=" + std::string(sr_upper) +
                                "&sig=nB3K 2/gUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg=&se=1700000000&skn=k");
  ASSERT_TRUE(spaced) << spaced.error().message;
  EXPECT_TRUE(key.verifies(*spaced));
}

TEST(ProtoSas, ParseUrlDecodesSkn) {
  auto t = parse_sas_token("SharedAccessSignature sr=x&sig=" +
                           percent_encode(base64_encode(std::string(32, 'a'))) + "&se=1&skn=my%20rule");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->key_name, "my rule");
}

TEST(ProtoSas, ParseErrorsAre401AndNameTheFieldWithoutSecrets) {
  const std::string sig = "nB3K%2B2%2FgUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg%3D";
  const std::string sr = "sr=" + std::string(sr_upper);
  struct bad_case {
    std::string text;
    std::string mentions;
  };
  const std::vector<bad_case> cases = {
      {"", "SharedAccessSignature"},
      {"Bearer abc", "SharedAccessSignature"},
      {"SharedAccessSignature", "SharedAccessSignature"},
      {"SharedAccessSignature sig=" + sig + "&se=1&skn=k", "sr"},
      {"SharedAccessSignature " + sr + "&se=1&skn=k", "sig"},
      {"SharedAccessSignature " + sr + "&sig=" + sig + "&skn=k", "se"},
      {"SharedAccessSignature " + sr + "&sig=" + sig + "&se=1", "skn"},
      {"SharedAccessSignature " + sr + "&sig=" + sig + "&se=soon&skn=k", "se"},
      {"SharedAccessSignature " + sr + "&sig=" + sig + "&se=-5&skn=k", "se"},
      {"SharedAccessSignature " + sr + "&sig=" + sig + "&se=99999999999999999999&skn=k", "se"},
      {"SharedAccessSignature " + sr + "&sig=!!notbase64!!&se=1&skn=k", "sig"},
      {"SharedAccessSignature " + sr + "&sig=QUJD&se=1&skn=k", "32"},
      {"SharedAccessSignature " + sr + "&sig=%zz&se=1&skn=k", "sig"},
      {"SharedAccessSignature " + sr + "&sig=" + sig + "&se=1&skn=k&sr=other", "twice"},
  };
  for (const auto& c : cases) {
    auto t = parse_sas_token(c.text);
    ASSERT_FALSE(t) << c.text;
    EXPECT_EQ(t.error().status, 401) << c.text;
    EXPECT_EQ(t.error().code, errc::unauthorized);
    EXPECT_NE(t.error().message.find(c.mentions), std::string::npos) << t.error().message;
    EXPECT_EQ(t.error().message.find("nB3K"), std::string::npos) << "signature leaked: " << t.error().message;
  }
}

TEST(ProtoSas, SasKeyIsMovableAndThreadSafe) {
  sas_key a(key_text);
  sas_key b(std::move(a));
  sas_key c("other");
  c = std::move(b);
  EXPECT_EQ(c.sign(sr_upper, se), "nB3K+2/gUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg=");
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 200; ++j)
        if (c.sign(sr_upper, se) == "nB3K+2/gUr0ucLo8CLArrTwXPY2FbkQ5N1bs3UFTVXg=") ++good;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 800);
}

TEST(ProtoSas, EmptyKeyStillSigns) {
  EXPECT_EQ(sas_key("").sign("x", 1).size(), 44u);
}

TEST(ProtoSas, MakeSasTokenRoundTrips) {
  const std::string token = make_sas_token("sb://relay.example.org:8443/a b/c", "rule name", "k3y", 42);
  auto t = parse_sas_token(token);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->key_name, "rule name");
  EXPECT_EQ(t->expiry, 42);
  EXPECT_TRUE(sas_key("k3y").verifies(*t));
  EXPECT_FALSE(sas_key("k3Y").verifies(*t));
  auto scope = token_scope(t->resource);
  ASSERT_TRUE(scope);
  EXPECT_EQ(scope->host, "relay.example.org");
  EXPECT_EQ(scope->path, "a b/c");
}

// Every sr form listed in §2.3 of the protocol doc, before and after each client's encoding.
TEST(ProtoSas, ScopeOfEveryClientsSrCoversTheEntity) {
  const std::vector<std::string> uris = {
      "http://contoso.servicebus.windows.net/hyco/",      // .NET: port dropped, trailing slash
      "http://contoso.servicebus.windows.net/",           // .NET raw-WS test and Node README: namespace
      "http://contoso.servicebus.windows.net:443/hyco",   // Node createRelayToken keeps the port
      "http://contoso.servicebus.windows.net/hyco",       // Python helper
      "sb://contoso.servicebus.windows.net/hyco",         // SAS doc
      "https://contoso.servicebus.windows.net/hyco",      // SAS doc
      "http://contoso.servicebus.windows.net/$hc/hyco/",  // .NET README via GetTokenAsync
      "wss://contoso.servicebus.windows.net/$hc/hyco",    // raw wss URI
      "ws://contoso.servicebus.windows.net:80/$HC/hyco",  // plain ws, upper-case $HC
      "http://CONTOSO.ServiceBus.Windows.NET/HYCO/",      // case differs
      "http://contoso.servicebus.windows.net",            // no path at all
      "http://contoso.servicebus.windows.net/hyco?x=1",   // query dropped
      "sb://contoso.servicebus.windows.net:9354/",        // namespace with a port
  };
  for (const auto& uri : uris) {
    // Node/.NET-core upper-case escapes, HttpUtility lower-case escapes, and PHP lower-cases everything.
    std::string lower_hex = percent_encode(uri);
    for (std::size_t i = 0; i + 2 < lower_hex.size(); ++i)
      if (lower_hex[i] == '%') {
        lower_hex[i + 1] = static_cast<char>(std::tolower(lower_hex[i + 1]));
        lower_hex[i + 2] = static_cast<char>(std::tolower(lower_hex[i + 2]));
      }
    for (const std::string& sr : {percent_encode(uri), lower_hex, to_lower(percent_encode(uri)), uri}) {
      auto scope = token_scope(sr);
      ASSERT_TRUE(scope) << sr << ": " << scope.error().message;
      EXPECT_EQ(scope->host, "contoso.servicebus.windows.net") << sr;
      EXPECT_TRUE(scope_covers(*scope, ns, "hyco")) << sr;
      EXPECT_TRUE(scope_covers(*scope, "Contoso.ServiceBus.Windows.Net", "hyco/suffix")) << sr;
    }
  }
}

TEST(ProtoSas, ScopeNormalisesPathAndHost) {
  auto s = token_scope(percent_encode("http://Contoso.servicebus.windows.net:443/$hc/hyco/"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->host, "contoso.servicebus.windows.net");
  EXPECT_EQ(s->path, "hyco");
  auto ns_scope = token_scope(percent_encode("http://contoso.servicebus.windows.net/"));
  ASSERT_TRUE(ns_scope);
  EXPECT_EQ(ns_scope->path, "");
  auto deep = token_scope(percent_encode("http://contoso.servicebus.windows.net/a/b/"));
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->path, "a/b");
  // .NET signs Uri.AbsoluteUri, so the path inside is escaped once more.
  auto spaced = token_scope(percent_encode("http://contoso.servicebus.windows.net/my%20hc/"));
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->path, "my hc");
  // WebUtility.UrlEncode writes a space as '+'.
  auto plus = token_scope("http%3a%2f%2fcontoso.servicebus.windows.net%2fmy+hc%2f");
  ASSERT_TRUE(plus);
  EXPECT_EQ(plus->path, "my hc");
  auto v6 = token_scope(percent_encode("http://[::1]:8443/hyco"));
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
}

TEST(ProtoSas, ScopeDoesNotCoverOtherHostsOrPaths) {
  auto scope = [](std::string_view uri) { return *token_scope(percent_encode(uri)); };
  EXPECT_FALSE(scope_covers(scope("http://fabrikam.servicebus.windows.net/hyco"), ns, "hyco"));
  EXPECT_FALSE(scope_covers(scope("http://contoso.servicebus.windows.net.evil.com/hyco"), ns, "hyco"));
  EXPECT_FALSE(scope_covers(scope("http://fabrikam.servicebus.windows.net/"), ns, "hyco"));
  EXPECT_FALSE(scope_covers(scope("http://contoso.servicebus.windows.net/other"), ns, "hyco"));
  EXPECT_FALSE(scope_covers(scope("http://contoso.servicebus.windows.net/hy"), ns, "hyco"));
  EXPECT_FALSE(scope_covers(scope("http://contoso.servicebus.windows.net/hyco2"), ns, "hyco"));
  EXPECT_FALSE(scope_covers(scope("http://contoso.servicebus.windows.net/hyco/suffix"), ns, "hyco"));
  EXPECT_TRUE(scope_covers(scope("http://contoso.servicebus.windows.net/hyco"), ns, "hyco/suffix"));
  EXPECT_TRUE(scope_covers(scope("http://contoso.servicebus.windows.net/hyco"), ns, "HYCO/Suffix/more"));
  EXPECT_FALSE(scope_covers(scope("http://contoso.servicebus.windows.net/hyco"), ns, "hycosuffix"));
}

TEST(ProtoSas, ScopeErrorsAre401) {
  for (std::string_view sr :
       {"", "contoso.servicebus.windows.net/hyco", "ftp%3A%2F%2Fcontoso%2Fhyco", "http%3A%2F%2F%2Fhyco",
        "http%3A%2F%2Fcontoso%2Fhy%zz", "http%3A%2F%2F%5B%3A%3A1"}) {
    auto s = token_scope(sr);
    ASSERT_FALSE(s) << sr;
    EXPECT_EQ(s.error().status, 401);
    EXPECT_NE(s.error().message.find("sr"), std::string::npos);
  }
}

TEST(ProtoSas, Rights) {
  EXPECT_TRUE(grants(rights::manage, rights::listen));
  EXPECT_TRUE(grants(rights::manage, rights::listen | rights::send));
  EXPECT_TRUE(grants(rights::listen | rights::send, rights::send));
  EXPECT_FALSE(grants(rights::listen, rights::send));
  EXPECT_FALSE(grants(rights::send, rights::listen));
  EXPECT_FALSE(grants(rights::listen, rights::manage));
  EXPECT_FALSE(grants(rights::none, rights::listen));
  EXPECT_TRUE(grants(rights::none, rights::none));

  EXPECT_EQ(to_string(rights::listen | rights::send), "Listen, Send");
  EXPECT_EQ(to_string(rights::manage | rights::listen | rights::send), "Manage, Listen, Send");
  EXPECT_EQ(to_string(rights::none), "None");

  EXPECT_EQ(parse_rights("Listen,Send").value(), rights::listen | rights::send);
  EXPECT_EQ(parse_rights(" send , LISTEN ").value(), rights::listen | rights::send);
  EXPECT_EQ(parse_rights("manage").value(), rights::manage);
  EXPECT_EQ(parse_rights("Listen,").value(), rights::listen);
  EXPECT_EQ(parse_rights(to_string(rights::manage | rights::listen | rights::send)).value(),
            rights::manage | rights::listen | rights::send);
  for (std::string_view bad : {"", " ", ",", "Read", "Listen,Write"}) {
    auto r = parse_rights(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_NE(r.error().message.find("Listen"), std::string::npos);
  }
}

}  // namespace
}  // namespace hc::proto

// check_cluster_tls: the same loads CAF's OpenSSL session does (certificate
// chain, private key, CA file, peer verification), done once at start-up so a
// bad file is a clear error instead of an exception on the middleman's thread.
#include "node/cluster_tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string>

namespace rideshard::node {
namespace {

std::string openssl_reason() {
  std::string msg;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!msg.empty()) msg += "; ";
    msg += buf;
  }
  return msg.empty() ? "unknown OpenSSL error" : msg;
}

error invalid(const std::string& what) {
  return error{errc::cluster_tls_invalid, "[cluster] " + what + ": " + openssl_reason()};
}

// Never prompt on the terminal for an encrypted key: the node runs unattended.
int no_passphrase(char*, int, int, void*) { return 0; }

}  // namespace

result<void> check_cluster_tls(const cluster_options& o) {
  std::string missing;
  for (const auto& [key, value] :
       {std::pair{"tls_cert", &o.tls_cert}, {"tls_key", &o.tls_key}, {"tls_ca", &o.tls_ca}})
    if (value->empty()) missing += missing.empty() ? key : std::string(", ") + key;
  if (!missing.empty())
    return error{errc::cluster_tls_required,
                 "[cluster] needs tls_cert, tls_key and tls_ca (missing: " + missing +
                     "): without them CAF's middleman would accept any peer over anonymous, "
                     "unauthenticated TLS; refusing to start a cluster like that"};
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx) return invalid("cannot create an OpenSSL context");
  SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.tls_cert.c_str()) != 1)
    return invalid("cannot read the certificate " + o.tls_cert);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return invalid("cannot read the private key " + o.tls_key +
                   " (an unencrypted PEM key is expected)");
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return invalid("the key " + o.tls_key + " does not belong to the certificate " + o.tls_cert);
  if (SSL_CTX_load_verify_locations(ctx.get(), o.tls_ca.c_str(), nullptr) != 1)
    return invalid("cannot read the CA " + o.tls_ca);
  // Verify our own certificate as a peer will: a node whose certificate its
  // own CA did not sign would be refused by every other node.
  X509* leaf = SSL_CTX_get0_certificate(ctx.get());
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx.get(), &chain);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx{X509_STORE_CTX_new(),
                                                                       X509_STORE_CTX_free};
  if (!vctx || X509_STORE_CTX_init(vctx.get(), SSL_CTX_get_cert_store(ctx.get()), leaf, chain) != 1)
    return invalid("cannot set up certificate verification");
  if (X509_verify_cert(vctx.get()) != 1) {
    const int code = X509_STORE_CTX_get_error(vctx.get());
    ERR_clear_error();
    return error{errc::cluster_tls_invalid, "[cluster] the certificate " + o.tls_cert +
                                                " does not verify against the CA " + o.tls_ca +
                                                ": " + X509_verify_cert_error_string(code)};
  }
  return {};
}

}  // namespace rideshard::node

// The cluster's mutual-TLS precondition, checked before the middleman starts.
// CAF 0.17's OpenSSL module falls back to anonymous (unauthenticated) ciphers
// when no certificate, key and CA are configured, and throws from its network
// thread on a file it cannot load; so `serve` checks the files itself first.
#pragma once

#include "node/cluster_options.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::node {

/// Ok when tls_cert, tls_key and tls_ca are set, readable PEM, the key belongs
/// to the certificate, and the certificate chains to the CA and is valid now.
/// Errors: cluster_tls_required (any of the three paths empty),
/// cluster_tls_invalid (unreadable, mismatched, untrusted or expired).
[[nodiscard]] result<void> check_cluster_tls(const cluster_options& opts);

}  // namespace rideshard::node

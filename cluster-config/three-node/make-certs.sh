#!/usr/bin/env bash
# Generates the cluster's mutual-TLS files with the openssl CLI: a CA (ca.pem,
# ca.key) and, for each NAME, NAME.pem (signed by the CA) and NAME.key.
# Usage: make-certs.sh [OUT_DIR] [NAME...]   (default: ./certs next to this
# script, names node-1 node-2 node-3). An existing CA in OUT_DIR is reused, so
# a node added later joins the same cluster. Keys are private: OUT_DIR is
# git-ignored here; never commit it. Development certificates (30 days, EC P-256).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/certs}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(node-1 node-2 node-3)
mkdir -p "$out"
chmod 700 "$out"
umask 077
if [ ! -f "$out/ca.pem" ] || [ ! -f "$out/ca.key" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/ca.key" -out "$out/ca.pem" -days 30 -subj "/CN=rideshard cluster CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi
for name in "${names[@]}"; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/$name.key" -out "$out/$name.csr" -subj "/CN=$name" 2>/dev/null
  # Both roles: every node is a TLS server (accepts peers) and a client (dials them).
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" \
    >"$out/$name.ext"
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -out "$out/$name.pem" -days 30 -extfile "$out/$name.ext" 2>/dev/null
  rm -f "$out/$name.csr" "$out/$name.ext"
done
chmod 644 "$out/ca.pem"
for name in "${names[@]}"; do chmod 644 "$out/$name.pem"; done
echo "make-certs: CA and ${names[*]} in $out"

#!/bin/bash
# scripts/gen-test-certs.sh DIR - a CA and the certificates the TLS tests and
# benchmarks use, in DIR (created): ca.crt/ca.key, server.crt/server.key
# (CN raftcache-server, for 127.0.0.1 and localhost, usable as a client
# certificate too, as peers present it), client.crt/client.key (a client
# certificate only), other-ca.crt and rogue.crt/rogue.key (a CA and a client
# certificate the first CA did not sign), server2.crt/server2.key (another
# certificate like server's, to rotate to), server-encrypted.key (server.key
# under the passphrase "secret"), dh.pem (DH parameters). Needs openssl.
# RSA 2048, valid 365 days: test material, not for production.
set -euo pipefail
dir=${1:?usage: gen-test-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }
mkca() { # name subject
    ossl genrsa -out "$1.key" 2048
    ossl req -x509 -new -nodes -sha256 -key "$1.key" -days 365 -subj "$2" -out "$1.crt"
}
mkcert() { # name ca subject extensions
    ossl genrsa -out "$1.key" 2048
    ossl req -new -sha256 -key "$1.key" -subj "$3" -out "$1.csr"
    printf '%s\n' "$4" >"$1.ext"
    ossl x509 -req -sha256 -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 365 \
        -extfile "$1.ext" -out "$1.crt"
    rm -f "$1.csr" "$1.ext"
}
mkca ca "/O=raftcache test/CN=raftcache test CA"
mkca other-ca "/O=raftcache test/CN=another CA"
mkcert server ca "/O=raftcache test/CN=raftcache-server" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"
mkcert server2 ca "/O=raftcache test/CN=raftcache-server" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"
mkcert client ca "/O=raftcache test/CN=raftcache-client" \
    "keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
mkcert rogue other-ca "/O=raftcache test/CN=rogue-client" \
    "keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
ossl rsa -in server.key -aes256 -passout pass:secret -out server-encrypted.key
ossl dhparam -dsaparam -out dh.pem 2048
chmod 644 ./*.key

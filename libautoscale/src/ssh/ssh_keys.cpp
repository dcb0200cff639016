// SPDX-License-Identifier: Apache-2.0
/// \file
/// SSH key pairs with OpenSSL 3's EVP API, written in OpenSSH's own formats
/// ("openssh-key-v1" private keys, "type base64 comment" public lines).

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sstream>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "autoscale/ssh.h"
#include "files.h"
#include "ssh_wire.h"

namespace autoscale {

namespace {

using detail::base64Decode;
using detail::base64Encode;
using detail::putString;
using detail::putUint32;

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct BnFree {
    void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

constexpr std::string_view kOpensshBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kOpensshEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kOpensshMagic{"openssh-key-v1\0", 15};
constexpr std::size_t kEd25519Size = 32;

std::string ed25519Blob(std::string_view publicKey) {
    std::string blob;
    putString(blob, "ssh-ed25519");
    putString(blob, publicKey);
    return blob;
}

/// The unencrypted openssh-key-v1 container around one ed25519 key.
std::string opensshPrivateKey(std::string_view pub, std::string_view seed,
                              const std::string& comment, std::uint32_t checkint) {
    std::string priv;
    putUint32(priv, checkint);
    putUint32(priv, checkint);
    putString(priv, "ssh-ed25519");
    putString(priv, pub);
    std::string secret(seed);
    secret.append(pub);
    putString(priv, secret);
    putString(priv, comment);
    for (char pad = 1; priv.size() % 8 != 0; ++pad)
        priv += pad;

    std::string body(kOpensshMagic);
    putString(body, "none");
    putString(body, "none");
    putString(body, "");
    putUint32(body, 1);
    putString(body, ed25519Blob(pub));
    putString(body, priv);

    const std::string encoded = base64Encode(body);
    std::string text(kOpensshBegin);
    text += '\n';
    for (std::size_t i = 0; i < encoded.size(); i += 70) {
        text.append(encoded, i, 70);
        text += '\n';
    }
    text.append(kOpensshEnd);
    text += '\n';
    return text;
}

Result<std::string> opensshPublicKey(const std::string& privateKey) {
    const auto begin = privateKey.find(kOpensshBegin);
    const auto end = privateKey.find(kOpensshEnd);
    if (begin == std::string::npos || end == std::string::npos || end < begin)
        return makeError(Errc::Parse, "not an openssh private key");
    std::string encoded;
    for (std::size_t i = begin + kOpensshBegin.size(); i < end; ++i) {
        const char c = privateKey[i];
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t')
            encoded += c;
    }
    const auto body = base64Decode(encoded);
    if (!body || !std::string_view(*body).starts_with(kOpensshMagic))
        return makeError(Errc::Parse, "malformed openssh private key");
    detail::WireReader reader(std::string_view(*body).substr(kOpensshMagic.size()));
    const auto cipher = reader.string();
    const auto kdf = reader.string();
    const auto kdfOptions = reader.string();
    const auto count = reader.uint32();
    const auto blob = reader.string();
    if (!cipher || !kdf || !kdfOptions || !count || *count != 1 || !blob)
        return makeError(Errc::Parse, "malformed openssh private key");
    if (*cipher != "none")
        return makeError(Errc::Parse, "encrypted private keys are not supported");
    auto line = detail::publicKeyLineOf(*blob);
    if (line.empty())
        return makeError(Errc::Parse, "malformed public key in openssh private key");
    return line;
}

int refusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
    return -1;
}

std::string bignumBytes(const EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1)
        return {};
    const Bn bn(raw);
    std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn.get())), '\0');
    BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
    return bytes;
}

Result<std::string> pemPublicKey(const std::string& privateKey) {
    const Bio bio(BIO_new_mem_buf(privateKey.data(), static_cast<int>(privateKey.size())));
    if (!bio)
        return makeError(Errc::Internal, "BIO_new_mem_buf failed");
    const Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &refusePassphrase, nullptr));
    if (!key)
        return makeError(Errc::Parse, "not an unencrypted PEM or OpenSSH private key");
    switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_ED25519: {
        std::array<unsigned char, kEd25519Size> pub{};
        std::size_t size = pub.size();
        if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &size) != 1 || size != pub.size())
            return makeError(Errc::Internal, "cannot read the ed25519 public key");
        return detail::publicKeyLineOf(
                ed25519Blob({reinterpret_cast<const char*>(pub.data()), pub.size()}));
    }
    case EVP_PKEY_RSA: {
        const std::string n = bignumBytes(key.get(), OSSL_PKEY_PARAM_RSA_N);
        const std::string e = bignumBytes(key.get(), OSSL_PKEY_PARAM_RSA_E);
        if (n.empty() || e.empty())
            return makeError(Errc::Internal, "cannot read the rsa public key");
        std::string blob;
        putString(blob, "ssh-rsa");
        detail::putMpint(blob, e);
        detail::putMpint(blob, n);
        return detail::publicKeyLineOf(blob);
    }
    default:
        return makeError(Errc::Parse, "unsupported private key type (use ed25519 or rsa)");
    }
}

Result<void> writeNewFile(const std::string& path, const std::string& text, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        return makeError(Errc::Io,
                         "cannot create " + path + ": " + std::generic_category().message(errno));
    }
    std::size_t written = 0;
    bool ok = true;
    while (written < text.size()) {
        const auto n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = false;
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    ok = ok && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
    const int savedErrno = errno;
    ::close(fd);
    if (!ok) {
        ::unlink(path.c_str());
        return makeError(Errc::Io, "cannot write " + path + ": " +
                                           std::generic_category().message(savedErrno));
    }
    return {};
}

} // namespace

Result<SshKeyPair> generateEd25519Key(const std::string& comment) {
    const Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!key)
        return makeError(Errc::Internal, "ed25519 key generation failed");
    std::array<unsigned char, kEd25519Size> pub{};
    std::array<unsigned char, kEd25519Size> seed{};
    std::size_t pubSize = pub.size();
    std::size_t seedSize = seed.size();
    std::uint32_t checkint = 0;
    if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &pubSize) != 1 ||
        EVP_PKEY_get_raw_private_key(key.get(), seed.data(), &seedSize) != 1 ||
        pubSize != pub.size() || seedSize != seed.size() ||
        RAND_bytes(reinterpret_cast<unsigned char*>(&checkint), sizeof checkint) != 1)
        return makeError(Errc::Internal, "cannot read the generated ed25519 key");
    const std::string_view pubBytes(reinterpret_cast<const char*>(pub.data()), pub.size());
    const std::string_view seedBytes(reinterpret_cast<const char*>(seed.data()), seed.size());
    SshKeyPair pair;
    pair.publicKey = detail::publicKeyLineOf(ed25519Blob(pubBytes));
    if (!comment.empty())
        pair.publicKey += " " + comment;
    pair.privateKey = opensshPrivateKey(pubBytes, seedBytes, comment, checkint);
    OPENSSL_cleanse(seed.data(), seed.size());
    return pair;
}

Result<SshKeyPair> generateHostKey() {
    return generateEd25519Key("autoscale-host");
}

Result<std::string> publicKeyOf(const std::string& privateKey) {
    if (privateKey.find(kOpensshBegin) != std::string::npos)
        return opensshPublicKey(privateKey);
    return pemPublicKey(privateKey);
}

Result<SshKeyPair> loadClientKey(const std::string& path) {
    auto text = detail::readFile(path);
    if (!text)
        return text.error();
    auto pub = publicKeyOf(*text);
    if (!pub)
        return makeError(pub.error().code, path + ": " + pub.error().message);
    return SshKeyPair{.publicKey = std::move(*pub), .privateKey = std::move(*text)};
}

Result<SshKeyPair> loadOrCreateClientKey(const std::string& path) {
    if (::access(path.c_str(), F_OK) == 0)
        return loadClientKey(path);
    auto pair = generateEd25519Key("autoscale");
    if (!pair)
        return pair.error();
    // Write a private temporary file, then link() it into place: link fails
    // when another process created the key first, and nobody ever reads a
    // half-written key.
    const std::string temp = path + ".tmp." + std::to_string(::getpid());
    ::unlink(temp.c_str());
    if (auto written = writeNewFile(temp, pair->privateKey, 0600); !written)
        return written.error();
    const int linked = ::link(temp.c_str(), path.c_str());
    const int linkErrno = errno;
    ::unlink(temp.c_str());
    if (linked != 0 && linkErrno == EEXIST)
        return loadClientKey(path);
    if (linked != 0) {
        return makeError(Errc::Io, "cannot create " + path + ": " +
                                           std::generic_category().message(linkErrno));
    }
    const std::string pubPath = path + ".pub";
    ::unlink(pubPath.c_str());
    if (auto written = writeNewFile(pubPath, pair->publicKey + "\n", 0644); !written)
        return written.error();
    return pair;
}

std::string defaultClientKeyPath(const std::string& datasource) {
    std::string file = datasource;
    if (file.starts_with("file:"))
        file = file.substr(5);
    if (const auto query = file.find('?'); query != std::string::npos)
        file.resize(query);
    const auto slash = file.rfind('/');
    if (file.find('=') != std::string::npos || slash == std::string::npos)
        return "id_ed25519";
    return file.substr(0, slash + 1) + "id_ed25519";
}

std::string canonicalPublicKey(const std::string& publicKeyLine) {
    std::istringstream in(publicKeyLine);
    std::string type;
    std::string data;
    if (!(in >> type >> data))
        return {};
    return type + " " + data;
}

std::string fingerprintOf(const std::string& publicKeyLine) {
    std::istringstream in(publicKeyLine);
    std::string type;
    std::string data;
    if (!(in >> type >> data))
        return {};
    const auto blob = base64Decode(data);
    if (!blob)
        return {};
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(blob->data(), blob->size(), digest.data(), &size, EVP_sha256(), nullptr) != 1)
        return {};
    std::string encoded = base64Encode(
            {reinterpret_cast<const char*>(digest.data()), static_cast<std::size_t>(size)});
    while (!encoded.empty() && encoded.back() == '=')
        encoded.pop_back();
    return "SHA256:" + encoded;
}

} // namespace autoscale

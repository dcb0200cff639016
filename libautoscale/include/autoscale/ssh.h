// SPDX-License-Identifier: Apache-2.0
/// \file
/// SSH keys in OpenSSH formats (generated with OpenSSL, no ssh-keygen) and the
/// process-wide libssh2 initialisation guard.

#pragma once

#include <string>

#include <autoscale/result.h>

namespace autoscale {

/// libssh2_init() for the life of main (and of the doctest main), before any
/// thread starts; libssh2_exit() on destruction. Create exactly one.
class Ssh2Global {
public:
    Ssh2Global();
    ~Ssh2Global();
    Ssh2Global(const Ssh2Global&) = delete;
    Ssh2Global& operator=(const Ssh2Global&) = delete;

    /// False when libssh2_init failed; nothing SSH will work then.
    [[nodiscard]] bool ok() const { return ok_; }

private:
    bool ok_ = false;
};

/// An SSH key pair as OpenSSH writes it.
struct SshKeyPair {
    /// One line, "ssh-ed25519 AAAA... comment", as in authorized_keys.
    std::string publicKey{};
    /// "-----BEGIN OPENSSH PRIVATE KEY-----" (or a PEM key read from a file).
    /// Secret: never logged.
    std::string privateKey{};

    friend bool operator==(const SshKeyPair&, const SshKeyPair&) = default;
};

/// A fresh ed25519 key pair; `comment` ends the public line and is stored in
/// the private key. Errc::Internal when OpenSSL fails.
Result<SshKeyPair> generateEd25519Key(const std::string& comment);

/// A fresh ed25519 host key for one server (pinned mode): the public half is
/// what the connection must present, the private half goes into cloud-init.
Result<SshKeyPair> generateHostKey();

/// The public key line ("type base64") of an unencrypted private key in
/// OpenSSH format or PEM (PKCS#1 RSA, PKCS#8 RSA or ed25519). Errc::Parse for
/// anything else, including encrypted PEM keys.
Result<std::string> publicKeyOf(const std::string& privateKey);

/// Reads DRONE_SSH_PRIVATE_KEY_FILE: an ed25519 or RSA private key. Errc::Io
/// when the file cannot be read, Errc::Parse when it is not such a key.
Result<SshKeyPair> loadClientKey(const std::string& path);

/// Reads the key at `path`, or, when there is no file, generates an ed25519
/// key and writes it there with mode 0600 (and "<path>.pub" beside it).
/// Creation is exclusive: two processes racing both end up with the key that
/// won. Errc::Io on file errors.
Result<SshKeyPair> loadOrCreateClientKey(const std::string& path);

/// Where the generated client key lives by default: "id_ed25519" in the
/// directory of the SQLite database `datasource` (the current directory for a
/// bare file name or a non-file datasource).
std::string defaultClientKeyPath(const std::string& datasource);

/// "type base64" of a public key line, without the comment; empty when the
/// line does not have two fields.
std::string canonicalPublicKey(const std::string& publicKeyLine);

/// OpenSSH's fingerprint of a public key line, "SHA256:..." (unpadded base64),
/// or an empty string when the line cannot be decoded.
std::string fingerprintOf(const std::string& publicKeyLine);

} // namespace autoscale

// SPDX-License-Identifier: Apache-2.0
/// \file
/// Temporary files and directories for tests; TempDir removes everything in
/// it at scope exit.

#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace autoscale::test {

/// mkdtemp()/mkstemp() template: the prefix under the temp directory, then
/// the six placeholder characters the calls replace.
inline std::string tempTemplate(const std::string& prefix) {
    return (std::filesystem::temp_directory_path() / (prefix + std::string(6, 'X'))).string();
}

/// Creates a fresh directory "<tmp>/<prefix>......"; throws when it cannot.
inline std::string makeTempDir(const std::string& prefix) {
    std::string path = tempTemplate(prefix);
    if (::mkdtemp(path.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed for " + path);
    return path;
}

/// Creates a fresh empty file "<tmp>/<prefix>......"; throws when it cannot.
inline std::string makeTempFile(const std::string& prefix) {
    std::string path = tempTemplate(prefix);
    const int fd = ::mkstemp(path.data());
    if (fd < 0)
        throw std::runtime_error("mkstemp failed for " + path);
    ::close(fd);
    return path;
}

class TempDir {
public:
    TempDir() : path_(makeTempDir("autoscale-test-")) {}
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::string file(const std::string& name) const {
        return (path_ / name).string();
    }

private:
    std::filesystem::path path_;
};

} // namespace autoscale::test

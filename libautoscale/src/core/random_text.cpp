// SPDX-License-Identifier: Apache-2.0
/// \file
/// randomChars and the names and tokens built on it.

#include "random_text.h"

#include <atomic>
#include <vector>

#include <openssl/rand.h>

namespace autoscale::detail {

std::string randomChars(std::size_t n, std::string_view alphabet) {
    std::vector<unsigned char> bytes(n);
    if (n > 0 && RAND_bytes(bytes.data(), static_cast<int>(n)) != 1) {
        // RAND_bytes only fails without entropy; a counter keeps results distinct.
        static std::atomic<unsigned> counter{0};
        for (std::size_t i = 0; i < n; ++i)
            bytes[i] = static_cast<unsigned char>(counter.fetch_add(1) * 2654435761U >> 24U);
    }
    std::string out;
    out.reserve(n);
    for (const auto b : bytes)
        out += alphabet[b % alphabet.size()];
    return out;
}

std::string randomServerName(const std::string& prefix) {
    return prefix +
           randomChars(8, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
}

std::string randomClientToken() {
    return randomChars(32, "0123456789abcdef");
}

} // namespace autoscale::detail

// SPDX-License-Identifier: Apache-2.0
/// \file
/// SSH wire encoding (RFC 4251 strings and integers) and, from core/text.h,
/// base64: the pieces the OpenSSH key formats are made of.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/text.h"

namespace autoscale::detail {

/// Appends a big-endian uint32.
void putUint32(std::string& out, std::uint32_t value);
/// Appends an SSH string: uint32 length, then the bytes.
void putString(std::string& out, std::string_view bytes);
/// Appends an SSH mpint from unsigned big-endian magnitude bytes.
void putMpint(std::string& out, std::string_view magnitude);

/// Reads SSH wire values from a buffer; every read fails once one has failed.
class WireReader {
public:
    explicit WireReader(std::string_view data) : data_(data) {}
    std::optional<std::uint32_t> uint32();
    std::optional<std::string_view> string();
    [[nodiscard]] std::size_t remaining() const { return data_.size() - pos_; }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

/// The public key line "type base64" of an SSH public key blob; empty when
/// the blob does not start with a type string.
std::string publicKeyLineOf(std::string_view blob);

} // namespace autoscale::detail

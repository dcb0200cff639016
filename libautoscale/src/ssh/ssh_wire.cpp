// SPDX-License-Identifier: Apache-2.0
/// \file
/// SSH wire encoding and base64 (see ssh_wire.h).

#include "ssh_wire.h"

#include <array>

namespace autoscale::detail {

namespace {

constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int valueOf(char c) {
    const auto pos = kAlphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

} // namespace

std::string base64Encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t n =
                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U |
                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U |
                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out += kAlphabet[(n >> 18U) & 63U];
        out += kAlphabet[(n >> 12U) & 63U];
        out += kAlphabet[(n >> 6U) & 63U];
        out += kAlphabet[n & 63U];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U;
        if (rest == 2)
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
        out += kAlphabet[(n >> 18U) & 63U];
        out += kAlphabet[(n >> 12U) & 63U];
        out += rest == 2 ? kAlphabet[(n >> 6U) & 63U] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
    while (!text.empty() && text.back() == '=')
        text.remove_suffix(1);
    if (text.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const int v = valueOf(c);
        if (v < 0)
            return std::nullopt;
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    return out;
}

void putUint32(std::string& out, std::uint32_t value) {
    const std::array<char, 4> bytes{
            static_cast<char>((value >> 24U) & 0xFFU), static_cast<char>((value >> 16U) & 0xFFU),
            static_cast<char>((value >> 8U) & 0xFFU), static_cast<char>(value & 0xFFU)};
    out.append(bytes.data(), bytes.size());
}

void putString(std::string& out, std::string_view bytes) {
    putUint32(out, static_cast<std::uint32_t>(bytes.size()));
    out.append(bytes);
}

void putMpint(std::string& out, std::string_view magnitude) {
    while (!magnitude.empty() && magnitude.front() == '\0')
        magnitude.remove_prefix(1);
    if (!magnitude.empty() && (static_cast<unsigned char>(magnitude.front()) & 0x80U) != 0) {
        putUint32(out, static_cast<std::uint32_t>(magnitude.size() + 1));
        out += '\0';
        out.append(magnitude);
        return;
    }
    putString(out, magnitude);
}

std::optional<std::uint32_t> WireReader::uint32() {
    if (remaining() < 4) {
        pos_ = data_.size();
        return std::nullopt;
    }
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i)
        value = (value << 8U) | static_cast<unsigned char>(data_[pos_++]);
    return value;
}

std::optional<std::string_view> WireReader::string() {
    const auto size = uint32();
    if (!size || *size > remaining()) {
        pos_ = data_.size();
        return std::nullopt;
    }
    const auto value = data_.substr(pos_, *size);
    pos_ += *size;
    return value;
}

std::string publicKeyLineOf(std::string_view blob) {
    WireReader reader(blob);
    const auto type = reader.string();
    if (!type || type->empty())
        return {};
    return std::string(*type) + " " + base64Encode(blob);
}

} // namespace autoscale::detail

// SPDX-License-Identifier: Apache-2.0
/// \file
/// SSH wire encoding (see ssh_wire.h).

#include "ssh_wire.h"

#include <array>

namespace autoscale::detail {

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

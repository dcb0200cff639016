// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes SigV4 canonicalisation of arbitrary paths, queries and headers, and
/// the URL helpers the signer uses. Input: a URL line, then "name: value"
/// header lines; the body after a blank line.

#include "aws/sigv4.h"

#include <string>

#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::textOf(data, size);
    const auto [url, rest] = fuzz::splitFirst(text, '\n');
    auto [path, query] = aws::splitPathAndQuery(url);
    (void)aws::signingHost(url);
    (void)aws::percentDecode(url);
    aws::CanonicalInput input{.method = "GET", .path = path, .query = query};
    std::string_view headers = rest;
    while (!headers.empty()) {
        const auto [line, after] = fuzz::splitFirst(headers, '\n');
        headers = after;
        if (line.empty()) {
            input.body = after;
            break;
        }
        const auto [name, value] = fuzz::splitFirst(line, ':');
        input.headers.emplace_back(std::string(name), std::string(value));
    }
    for (const bool normalize : {true, false}) {
        input.normalizePath = normalize;
        const aws::CanonicalRequest canonical = aws::canonicalRequest(input);
        fuzz::require(!canonical.text.empty());
        // An absolute path stays absolute (a URL without "://" is all path, maybe relative).
        const std::string uri = aws::canonicalUri(path, normalize);
        fuzz::require(!uri.empty() && (uri.front() == '/' || path.front() != '/'));
        (void)aws::stringToSign(canonical.text, "20150830T123600Z",
                                aws::credentialScope("20150830", "us-east-1", "ec2"));
    }
    (void)aws::canonicalQuery(query);
    (void)aws::trimAll(rest);
    return 0;
}

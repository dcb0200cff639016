// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes the credential endpoint answers: IMDS and container JSON, STS
/// AssumeRoleWithWebIdentity XML. No error quotes the secret key or token.

#include <string>

#include "aws/credential_replies.h"
#include "fuzz_input.h"

using namespace autoscale;

namespace {

void check(const Result<AwsCredentials>& result) {
    if (result) {
        fuzz::require(!result->accessKeyId.empty() && !result->secretAccessKey.empty());
        return;
    }
    fuzz::require(!result.error().message.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body = fuzz::textOf(data, size);
    check(aws::parseCredentialsJson(body, "imds"));
    check(aws::parseCredentialsJson(body, "container"));
    check(aws::parseAssumeRoleWithWebIdentity(body));
    return 0;
}

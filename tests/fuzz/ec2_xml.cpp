// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes the EC2 Query API reply parsers (DescribeInstances, RunInstances,
/// TerminateInstances) and the error envelope classification of EC2 and STS.

#include <string>

#include "aws/ec2_api.h"
#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view xml = fuzz::textOf(data, size);
    if (auto page = aws::parseDescribeInstances(xml)) {
        for (const auto& instance : page->instances)
            fuzz::require(instance.stateCode >= 0 && instance.stateCode <= 0xFF);
    }
    (void)aws::parseRunInstances(xml);
    (void)aws::parseTerminateInstances(xml);
    if (const auto error = aws::parseServiceError(xml))
        (void)aws::isThrottlingCode(error->code);
    // The status comes from the first byte, so every class of reply is reached.
    const int status = size == 0 ? 500 : 400 + data[0] % 200;
    const Error classified = aws::classifyReply("DescribeInstances", status, xml);
    fuzz::require(!classified.message.empty());
    fuzz::require(classified.httpStatus == status);
    return 0;
}

// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes the parsers of what the SSH installer's remote commands print:
/// `cloud-init status`, the agent inspection and the install round trip.

#include "fuzz_input.h"
#include "ssh/agent_commands.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view output = fuzz::textOf(data, size);
    const int status = size == 0 ? 0 : data[0] % 130;
    (void)detail::parseCloudInitStatus(output, status);
    (void)detail::parseCloudInitStatus(output, 127);
    const detail::AgentState agent = detail::parseInspect(output, status);
    fuzz::require(agent.exists || !agent.running);
    (void)detail::parseInspect(output, 0);
    (void)detail::parsePrepare(output);
    return 0;
}

// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes the EventBridge event parser (SQS message bodies), the SQS ReceiveMessage reply
/// parser, Drone's incomplete-builds and build parsers: never a crash, only Errc::Parse
/// errors, and every notice names an instance.

#include <autoscale/drone.h>
#include <autoscale/interruptions.h>

#include "aws/sqs_client.h"
#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::textOf(data, size);
    const auto event = parseCloudEvent(text);
    if (!event) {
        fuzz::require(event.error().code == Errc::Parse);
    } else {
        fuzz::require(event->notices.empty() != event->ignored.empty());
        for (const auto& notice : event->notices) {
            fuzz::require(!notice.instanceId.empty());
            (void)meansInstanceLost(notice);
            (void)nameOf(notice.kind);
        }
    }
    const auto reply = aws::parseReceiveMessage(text);
    if (!reply)
        fuzz::require(reply.error().code == Errc::Parse);
    const auto rows = parseIncompleteJson(text);
    if (!rows)
        fuzz::require(rows.error().code == Errc::Parse);
    const auto number = parseBuildNumberJson(text);
    if (!number)
        fuzz::require(number.error().code == Errc::Parse);
    return 0;
}

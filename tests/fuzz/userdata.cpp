// SPDX-License-Identifier: Apache-2.0
/// \file
/// Fuzzes the user-data template renderer: it returns (no runaway filters), and
/// what it renders fits EC2's 16 KiB.

#include <string>

#include <autoscale/installer.h>

#include "fuzz_input.h"

using namespace autoscale;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(fuzz::textOf(data, size));
    const UserDataValues values{.name = "agent-Ab3dE5gH",
                                .sshUser = "ubuntu",
                                .sshPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA me@host",
                                .hostPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAB host",
                                .hostPrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                                                  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"
                                                  "-----END OPENSSH PRIVATE KEY-----\n",
                                .image = "drone/drone-runner-docker:1",
                                .pool = "default"};
    const auto rendered = renderUserData(text, values);
    if (rendered)
        fuzz::require(rendered->size() <= 16 * 1024);
    else
        fuzz::require(rendered.error().code == Errc::InvalidArgument);
    return 0;
}

// SPDX-License-Identifier: Apache-2.0
/// \file
/// The admin tool's main: talks to a running daemon's REST API.

#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_common.h"

int main(int argc, char** argv) {
    try {
        CLI::App app{"autoscaler-admin: inspect and steer a running autoscaler"};
        CLI11_PARSE(app, argc, argv);
        return autoscale::tools::notImplemented("autoscaler-admin", "servers/pause/resume/plan");
    } catch (const std::exception& e) {
        std::cerr << "autoscaler-admin: " << e.what() << "\n";
        return 1;
    }
}

// SPDX-License-Identifier: Apache-2.0
/// \file
/// The daemon's main: `autoscaler serve`.

#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_common.h"

int main(int argc, char** argv) {
    try {
        CLI::App app{"autoscaler: keeps enough EC2 build machines for a Drone CI queue"};
        app.require_subcommand(0, 1);
        auto* serve = app.add_subcommand("serve", "run the daemon (REST API, planner, engine)");
        CLI11_PARSE(app, argc, argv);
        (void)serve;
        return autoscale::tools::notImplemented("autoscaler", "serve");
    } catch (const std::exception& e) {
        std::cerr << "autoscaler: " << e.what() << "\n";
        return 1;
    }
}

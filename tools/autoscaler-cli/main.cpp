// SPDX-License-Identifier: Apache-2.0
/// \file
/// The one-shot CLI: `plan` and `simulate`.

#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_common.h"

int main(int argc, char** argv) {
    try {
        CLI::App app{"autoscaler-cli: one-shot autoscaler commands"};
        CLI11_PARSE(app, argc, argv);
        return autoscale::tools::notImplemented("autoscaler-cli", "plan");
    } catch (const std::exception& e) {
        std::cerr << "autoscaler-cli: " << e.what() << "\n";
        return 1;
    }
}

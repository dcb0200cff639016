// SPDX-License-Identifier: Apache-2.0
/// \file
/// python_oracle.h on std::system and temporary files.

#include "python_oracle.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "temp_dir.h"

namespace autoscale::test {

bool havePythonModule(const std::string& module) {
    const std::string command = "/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1";
    return std::system(command.c_str()) == 0; // NOLINT(concurrency-mt-unsafe,cert-env33-c)
}

void requirePythonModuleOrSkip(const std::string& module) {
    if (havePythonModule(module))
        return;
    std::cerr << "SKIP: /usr/bin/python3 cannot import " << module << "\n";
    std::exit(77); // NOLINT(concurrency-mt-unsafe)
}

std::string toolPath(const std::string& name) {
    const char* dir = std::getenv("AUTOSCALE_TEST_TOOLS"); // NOLINT(concurrency-mt-unsafe)
    if (dir == nullptr)
        throw std::runtime_error("AUTOSCALE_TEST_TOOLS is not set");
    return std::string(dir) + "/" + name;
}

int runPython(const std::string& script, const std::string& args, const std::string& input,
              std::string& output) {
    const std::string in = makeTempFile("autoscale-py-");
    const std::string out = makeTempFile("autoscale-py-");
    {
        std::ofstream file(in, std::ios::binary);
        file << input;
    }
    const std::string command =
            "/usr/bin/python3 '" + script + "' " + args + " < '" + in + "' > '" + out + "'";
    const int status = std::system(command.c_str()); // NOLINT(concurrency-mt-unsafe,cert-env33-c)
    std::ifstream file(out, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    output = text.str();
    std::filesystem::remove(in);
    std::filesystem::remove(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace autoscale::test

// SPDX-License-Identifier: Apache-2.0
/// \file
/// Running Debian's /usr/bin/python3 (botocore, boto3) as an independent oracle from
/// tests. Tests that need it exit 77 (meson: SKIP) when the module is missing.

#pragma once

#include <string>

namespace autoscale::test {

/// True when `/usr/bin/python3 -c 'import <module>'` succeeds.
bool havePythonModule(const std::string& module);

/// Exits the test program with 77 (SKIP) unless `module` imports.
void requirePythonModuleOrSkip(const std::string& module);

/// Path of a script in tests/tools (from AUTOSCALE_TEST_TOOLS).
std::string toolPath(const std::string& name);

/// Runs `/usr/bin/python3 <script> <args>` with `input` on stdin; returns its exit status
/// and fills `output` with its stdout (stderr goes to the test's stderr).
int runPython(const std::string& script, const std::string& args, const std::string& input,
              std::string& output);

} // namespace autoscale::test

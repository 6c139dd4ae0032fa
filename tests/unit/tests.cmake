# SPDX-License-Identifier: MIT
# One line per unit test executable (tests/unit/<name>.c).
chord_unit_test(test_registry ${CMAKE_SOURCE_DIR}/src/supernode/registry.c)
chord_unit_test(test_rpc)

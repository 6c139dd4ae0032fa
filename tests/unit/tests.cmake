# SPDX-License-Identifier: MIT
# One line per unit test executable (tests/unit/<name>.c).
chord_unit_test(test_registry ${CMAKE_SOURCE_DIR}/src/supernode/registry.c)
chord_unit_test(test_rpc)
chord_unit_test(test_codec)
chord_unit_test(test_chord_id)
chord_unit_test(test_finger)
chord_unit_test(test_addr)
chord_unit_test(test_store)
target_link_libraries(test_store PRIVATE chord_node)
chord_unit_test(test_ring)
target_link_libraries(test_ring PRIVATE chord_node)
chord_unit_test(test_units)

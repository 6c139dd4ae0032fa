# SPDX-License-Identifier: MIT
# The three programs.
add_executable(chord-supernode
  src/supernode/main.c
  src/supernode/service.c
  src/supernode/identity.c
  src/supernode/registry.c
  src/supernode/sn_metrics.c)
target_link_libraries(chord-supernode PRIVATE chord_common)

# The node's modules, in a library so that unit tests reach them.
add_library(chord_node STATIC
  src/node/node.c
  src/node/node_metrics.c
  src/node/jobs.c
  src/node/ring.c
  src/node/route.c
  src/node/maint.c
  src/node/maintain.c
  src/node/forward.c
  src/node/peer.c
  src/node/handoff.c
  src/node/transfer.c
  src/node/pull.c
  src/node/push.c
  src/node/membership.c
  src/node/svc.c
  src/node/svc_client.c
  src/node/svc_ring.c
  src/node/svc_status.c
  src/node/svc_transfer.c
  src/node/vouch.c
  src/node/svc_repair.c
  src/node/owner.c
  src/node/replica.c
  src/node/digest.c
  src/node/repair.c
  src/node/repair_gc.c
  src/node/chunk_gc.c
  src/node/sendkeys.c
  src/node/store.c
  src/node/store_map.c
  src/node/store_mem.c
  src/node/store_dir.c
  src/node/store_dir_io.c)
target_link_libraries(chord_node PUBLIC chord_common)
add_executable(chord-node src/node/main.c)
target_link_libraries(chord-node PRIVATE chord_node)

add_executable(chordctl
  src/client/main.c
  src/client/args.c
  src/client/fileio.c
  src/client/cluster.c
  src/client/ringview.c
  src/client/commands.c
  src/client/bench.c
  src/client/output.c
  src/client/output_ring.c
  src/client/json.c
  src/client/pool.c
  src/client/progress.c
  src/client/chunked.c
  src/client/chunked_read.c
  src/client/serve.c
  ${CMAKE_BINARY_DIR}/gen/serve_page.c)
target_link_libraries(chordctl PRIVATE chord_common)
# The ring page (chordctl serve) ships inside the binary.
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/gen/serve_page.c
  COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_SOURCE_DIR}/src/client/ring_page.html
    -DOUT=${CMAKE_BINARY_DIR}/gen/serve_page.c -DNAME=serve_page
    -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  DEPENDS ${CMAKE_SOURCE_DIR}/src/client/ring_page.html
    ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  VERBATIM)

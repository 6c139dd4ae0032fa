# SPDX-License-Identifier: MIT
# The three programs.
add_executable(chord-supernode
  src/supernode/main.c
  src/supernode/service.c
  src/supernode/registry.c)
target_link_libraries(chord-supernode PRIVATE chord_common)

add_executable(chord-node
  src/node/main.c
  src/node/service.c
  src/node/join.c
  src/node/ring.c
  src/node/transfer.c
  src/node/store.c
  src/node/store_mem.c
  src/node/store_dir.c)
target_link_libraries(chord-node PRIVATE chord_common)

add_executable(chordctl
  src/client/main.c
  src/client/args.c
  src/client/fileio.c
  src/client/cluster.c
  src/client/commands.c
  src/client/bench.c
  src/client/output.c
  src/client/json.c
  src/client/escape.c)
target_link_libraries(chordctl PRIVATE chord_common)

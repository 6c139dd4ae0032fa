/* SPDX-License-Identifier: MIT */
/* chordctl's printing of the ring and of one node's status, as text or
 * JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/escape.h"
#include "client/json.h"
#include "client/output.h"
#include "client/output_internal.h"
#include "common/addr.h"

#define ADDR_COLUMN 21 /* width of the address column of `ring` */

/* The JSON form of output_ring. */
static void ring_json(const struct output_ring_member *m, size_t n,
                      uint64_t files, uint64_t chunks, uint64_t keys,
                      uint64_t bytes, size_t down)
{
  struct json j;
  output__begin_result(&j, "ring");
  json_open(&j, "nodes", '[');
  for (size_t i = 0; i < n; i++) {
    json_open(&j, NULL, '{');
    json_hex(&j, "id", m[i].node->id.data, m[i].node->id.len);
    json_str(&j, "addr", m[i].node->addr);
    json_bool(&j, "reachable", m[i].status != NULL);
    if (m[i].status) {
      json_bool(&j, "joined", m[i].status->joined);
      json_uint(&j, "keys", m[i].status->keys);
      json_uint(&j, "primary_keys", m[i].status->primary_keys);
      json_uint(&j, "replica_keys", m[i].status->replica_keys);
      json_uint(&j, "under_replicated", m[i].status->under_replicated);
      json_bool(&j, "repair_running", m[i].status->repair_running);
      json_uint(&j, "bytes", m[i].status->bytes);
    } else {
      json_open(&j, "error", '{');
      json_str(&j, "status", rpc_status_name(m[i].error.code));
      json_str(&j, "message", m[i].error.message);
      json_close(&j, '}');
    }
    json_close(&j, '}');
  }
  json_close(&j, ']');
  json_uint(&j, "count", n);
  json_uint(&j, "unreachable", down);
  json_uint(&j, "files", files);
  json_uint(&j, "chunks", chunks);
  json_uint(&j, "keys", keys);
  json_uint(&j, "bytes", bytes);
  json_end(&j);
}

/* Prints the n members m in the order given (the caller sorts them), each
 * with its primary and replica keys, bytes, keys a replica lacked in its
 * last repair, and whether repair runs, or as unreachable with the status
 * name; then the totals: files (the primary keys but chunks), chunks,
 * copies (every live key held) and bytes. A table, or {command, nodes,
 * count, unreachable, files, chunks, keys, bytes} where an unreachable member
 * carries {status, message}. */
void output_ring(struct chordctl *ctl, const struct output_ring_member *m,
                 size_t n)
{
  uint64_t files = 0, chunks = 0, keys = 0, bytes = 0;
  size_t down = 0;

  for (size_t i = 0; i < n; i++) {
    if (m[i].status) {
      const Chord__V1__StatusResponse *st = m[i].status;
      files += st->primary_keys - (st->primary_chunks < st->primary_keys
                                       ? st->primary_chunks
                                       : st->primary_keys);
      chunks += st->primary_chunks;
      keys += m[i].status->keys;
      bytes += m[i].status->bytes;
    } else {
      down++;
    }
  }
  if (ctl->json) {
    ring_json(m, n, files, chunks, keys, bytes, down);
    return;
  }
  printf("%-40s  %-*s  %9s  %9s  %12s  %6s  %s\n", "ID", ADDR_COLUMN, "ADDR",
         "PRIMARY", "REPLICA", "BYTES", "UNDER", "REPAIR");
  for (size_t i = 0; i < n; i++) {
    const Chord__V1__NodeInfo *node = m[i].node;
    const char *pad = "";
    output__put_hex(node->id.data, node->id.len);
    if (node->id.len < 20)
      printf("%*s", (int)(40 - 2 * node->id.len), pad);
    fputs("  ", stdout);
    escape_put(stdout, node->addr, strlen(node->addr), false);
    if (strlen(node->addr) < ADDR_COLUMN)
      printf("%*s", (int)(ADDR_COLUMN - strlen(node->addr)), pad);
    if (m[i].status) {
      const Chord__V1__StatusResponse *st = m[i].status;
      printf("  %9" PRIu64 "  %9" PRIu64 "  %12" PRIu64 "  %6" PRIu64
             "  %s%s\n",
             st->primary_keys, st->replica_keys, st->bytes,
             st->under_replicated, st->repair_running ? "running" : "idle",
             st->joined ? "" : "  (joining)");
    } else {
      /* The status name says enough here; JSON has the message. */
      printf("  unreachable (%s)\n", rpc_status_name(m[i].error.code));
    }
  }
  printf("%zu node%s", n, output__plural(n));
  if (down)
    printf(" (%zu unreachable)", down);
  printf(", %" PRIu64 " file%s", files, output__plural(files));
  if (chunks)
    printf(" (+%" PRIu64 " chunk%s)", chunks, output__plural(chunks));
  printf(", %" PRIu64 " cop%s, %" PRIu64 " byte%s\n", keys,
         keys == 1 ? "y" : "ies", bytes, output__plural(bytes));
}

/* The JSON form of output_status. */
static void status_json(const Chord__V1__StatusResponse *r)
{
  struct json j;
  output__begin_result(&j, "status");
  output__node_json(&j, "node", r->self);
  json_bool(&j, "joined", r->joined);
  json_str(&j, "version", r->version);
  json_uint(&j, "uptime_ms", r->uptime_ms);
  json_uint(&j, "keys", r->keys);
  json_uint(&j, "bytes", r->bytes);
  json_uint(&j, "replicas", r->replicas);
  json_uint(&j, "primary_keys", r->primary_keys);
  json_uint(&j, "replica_keys", r->replica_keys);
  json_uint(&j, "tombstones", r->tombstones);
  json_uint(&j, "chunks", r->chunks);
  json_uint(&j, "chunks_collected", r->chunks_collected);
  json_uint(&j, "under_replicated", r->under_replicated);
  json_open(&j, "repair", '{');
  json_bool(&j, "running", r->repair_running);
  json_uint(&j, "rounds", r->repair_rounds);
  json_uint(&j, "pushed", r->repair_pushed);
  json_uint(&j, "pulled", r->repair_pulled);
  json_uint(&j, "bytes_sent", r->repair_bytes);
  json_close(&j, '}');
  output__node_json(&j, "predecessor", r->predecessor);
  json_open(&j, "successors", '[');
  for (size_t i = 0; i < r->n_successors; i++)
    output__node_json(&j, NULL, r->successors[i]);
  json_close(&j, ']');
  json_open(&j, "fingers", '[');
  for (size_t i = 0; i < r->n_fingers; i++) {
    json_open(&j, NULL, '{');
    json_uint(&j, "index", r->fingers[i]->index);
    output__node_json(&j, "node", r->fingers[i]->node);
    json_close(&j, '}');
  }
  json_close(&j, ']');
  json_open(&j, "dead", '[');
  for (size_t i = 0; i < r->n_dead; i++)
    output__node_json(&j, NULL, r->dead[i]);
  json_close(&j, ']');
  json_uint(&j, "calls_received", r->calls_received);
  json_uint(&j, "maintenance_sent", r->maintenance_sent);
  json_end(&j);
}

/* Prints a node's state as r has it: aligned lines, or {command, node,
 * joined, version, uptime_ms, keys, bytes, replicas, primary_keys,
 * replica_keys, tombstones, chunks, chunks_collected, under_replicated,
 * repair {running, rounds,
 * pushed, pulled, bytes_sent}, predecessor, successors,
 * fingers, dead, calls_received, maintenance_sent}. */
void output_status(struct chordctl *ctl, const Chord__V1__StatusResponse *r)
{
  if (ctl->json) {
    status_json(r);
    return;
  }
  fputs("node         ", stdout);
  output__text_node(r->self);
  printf("\njoined       %s\nversion      ", r->joined ? "yes" : "no");
  escape_put(stdout, r->version, strlen(r->version), false);
  fputs("\nuptime       ", stdout);
  output__text_uptime(r->uptime_ms);
  printf("\nkeys         %" PRIu64 " (%" PRIu64 " primary, %" PRIu64
         " replica; %" PRIu64 " tombstone%s)\nbytes        %" PRIu64,
         r->keys, r->primary_keys, r->replica_keys, r->tombstones,
         output__plural(r->tombstones), r->bytes);
  printf("\nchunks       %" PRIu64 " held, %" PRIu64 " collected", r->chunks,
         r->chunks_collected);
  printf("\nreplicas     %" PRIu32 " cop%s of each file; %" PRIu64
         " key%s under-replicated\nrepair       %s, %" PRIu64
         " round%s, %" PRIu64 " pushed, %" PRIu64 " pulled, %" PRIu64
         " byte%s sent\npredecessor  ",
         r->replicas, r->replicas == 1 ? "y" : "ies", r->under_replicated,
         output__plural(r->under_replicated),
         r->repair_running ? "running" : "idle", r->repair_rounds,
         output__plural(r->repair_rounds), r->repair_pushed, r->repair_pulled,
         r->repair_bytes, output__plural(r->repair_bytes));
  output__text_node(r->predecessor);
  fputs("\nsuccessors   ", stdout);
  if (!r->n_successors)
    fputs("none", stdout);
  for (size_t i = 0; i < r->n_successors; i++) {
    if (i)
      fputs("\n             ", stdout);
    output__text_node(r->successors[i]);
  }
  fputs("\nfingers      ", stdout);
  if (!r->n_fingers)
    fputs("none", stdout);
  for (size_t i = 0; i < r->n_fingers; i++) {
    if (i)
      fputs("\n             ", stdout);
    printf("[%3" PRIu32 "] ", r->fingers[i]->index);
    output__text_node(r->fingers[i]->node);
  }
  fputs("\ndead         ", stdout);
  if (!r->n_dead)
    fputs("none", stdout);
  for (size_t i = 0; i < r->n_dead; i++) {
    if (i)
      fputs("\n             ", stdout);
    output__text_node(r->dead[i]);
  }
  printf("\ncalls        %" PRIu64 " received, %" PRIu64 " maintenance sent\n",
         r->calls_received, r->maintenance_sent);
}

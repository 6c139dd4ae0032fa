/* SPDX-License-Identifier: MIT */
/* chordctl's view of the ring (see ringview.h). The cache file is text:
 *   chord-ring-view 1
 *   supernode HOST:PORT
 *   fetched UNIX_MS
 *   ID_HEX HOST:PORT       (one line per member)
 * written whole to a temporary file and renamed over the old one, so a
 * reader sees one whole view or the one before. */
#include "client/ringview.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chord/v1/supernode.pb-c.h"
#include "client/cluster.h"
#include "client/output.h"
#include "common/addr.h"
#include "common/err.h"

#define SN_LIST_NODES "/chord.v1.Supernode/ListNodes"
#define MAGIC "chord-ring-view 1"
#define FILE_MAX_MEMBERS 65536
#define LINE_WORD 300 /* longest word read from a line: above any address */
#define WORD_SCAN "300"

static int64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ringview_free(struct ringview *v)
{
  for (size_t i = 0; i < v->n; i++)
    free(v->addrs[i]);
  free(v->addrs);
  free(v->ids);
  memset(v, 0, sizeof(*v));
}

static int grow(struct ringview *v)
{
  size_t cap = v->cap ? v->cap * 2 : 16;
  char **a = realloc(v->addrs, cap * sizeof(*a));
  if (!a)
    return CHORD_ENOMEM;
  v->addrs = a;
  struct chord_id *ids = realloc(v->ids, cap * sizeof(*ids));
  if (!ids)
    return CHORD_ENOMEM;
  v->ids = ids;
  v->cap = cap;
  return 0;
}

static void remove_at(struct ringview *v, size_t i)
{
  free(v->addrs[i]);
  memmove(&v->addrs[i], &v->addrs[i + 1], (v->n - i - 1) * sizeof(*v->addrs));
  memmove(&v->ids[i], &v->ids[i + 1], (v->n - i - 1) * sizeof(*v->ids));
  v->n--;
}

int ringview_learn(struct ringview *v, const void *id, size_t idlen,
                   const char *addr)
{
  struct chord_id cid;
  size_t k;
  if (!addr || addr_validate(addr, 0) || chord_id_from_bytes(&cid, id, idlen))
    return CHORD_EINVAL;
  if (!v->ids && v->n) /* --node alone: nothing to learn */
    return 0;
  for (k = 0; k < v->n; k++) {
    bool same_id = chord_id_eq(&v->ids[k], &cid);
    bool same_addr = strcmp(v->addrs[k], addr) == 0;
    if (same_id && same_addr)
      return 0;
    if (same_id || same_addr) { /* moved or restarted: the reply wins */
      remove_at(v, k);
      break;
    }
  }
  if (v->n == v->cap && grow(v))
    return CHORD_ENOMEM;
  char *copy = strdup(addr);
  if (!copy)
    return CHORD_ENOMEM;
  for (k = v->n; k > 0 && chord_id_cmp(&v->ids[k - 1], &cid) > 0; k--) {
    v->ids[k] = v->ids[k - 1];
    v->addrs[k] = v->addrs[k - 1];
  }
  v->ids[k] = cid;
  v->addrs[k] = copy;
  v->n++;
  v->changed = true;
  return 0;
}

void ringview_forget(struct ringview *v, const char *addr)
{
  if (!v->ids)
    return;
  for (size_t k = 0; k < v->n; k++)
    if (strcmp(v->addrs[k], addr) == 0) {
      remove_at(v, k);
      v->changed = true;
      return;
    }
}

size_t ringview_owner(const struct ringview *v, const char *name, size_t len)
{
  struct chord_id key;
  size_t lo = 0, hi = v->n;
  if (!v->ids || v->n == 0)
    return 0;
  chord_id_sha1(&key, name, len);
  while (lo < hi) { /* the first id >= key; past the end wraps to 0 */
    size_t mid = lo + (hi - lo) / 2;
    if (chord_id_cmp(&v->ids[mid], &key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == v->n ? 0 : lo;
}

/* The supernode's member list into v (emptied first). 0 or an exit code,
 * after printing why, except for an unreachable supernode when quiet
 * (OUTPUT_EXIT_UNREACHABLE: the caller has another list to fall back on). */
static int fetch(struct chordctl *ctl, const char *what, struct ringview *v,
                 bool quiet)
{
  Chord__V1__ListNodesRequest req = CHORD__V1__LIST_NODES_REQUEST__INIT;
  const Chord__V1__ListNodesResponse *l;
  struct rpc_result res;
  int rc = cluster_check_supernode(ctl);
  if (rc)
    return rc;
  ringview_free(v);
  if (cluster_call(ctl, ctl->supernode, SN_LIST_NODES, &req.base,
                   &chord__v1__list_nodes_response__descriptor,
                   &res) != GRPC_STATUS_OK) {
    if (quiet && (res.status.code == GRPC_STATUS_UNAVAILABLE ||
                  res.status.code == GRPC_STATUS_DEADLINE_EXCEEDED)) {
      rc = OUTPUT_EXIT_UNREACHABLE;
      goto cleanup;
    }
    rc = output_rpc_error(ctl, what, "supernode", ctl->supernode, &res.status);
    if (res.status.code == GRPC_STATUS_NOT_FOUND)
      rc = OUTPUT_EXIT_UNREACHABLE;
    goto cleanup;
  }
  l = (const Chord__V1__ListNodesResponse *)res.resp;
  if (grow(v)) /* a view with ids: a member list, even if empty */
    goto nomem;
  for (size_t i = 0; i < l->n_nodes; i++) {
    const Chord__V1__NodeInfo *ni = l->nodes[i];
    if (ringview_learn(v, ni->id.data, ni->id.len, ni->addr) == CHORD_ENOMEM)
      goto nomem;
  }
  if (v->n == 0) {
    output_error(ctl, "%s: the supernode at %s lists no node", what,
                 ctl->supernode);
    rc = OUTPUT_EXIT_UNREACHABLE;
    goto cleanup;
  }
  v->fetched_ms = wall_ms();
  v->loaded = v->changed = true;
  rpc_result_clear(&res);
  return 0;
nomem:
  output_error(ctl, "%s: out of memory", what);
  rc = OUTPUT_EXIT_FAILURE;
cleanup:
  rpc_result_clear(&res);
  ringview_free(v);
  return rc;
}

/* Reads the cache file into v (empty, with ids; v->fetched_ms says when
 * its list was fetched); false when it is absent, unreadable, malformed
 * or for another supernode. */
static bool read_file(struct chordctl *ctl, struct ringview *v)
{
  char line[1024], sn[LINE_WORD + 1], hex[LINE_WORD + 1], addr[LINE_WORD + 1];
  int64_t fetched = 0, now = wall_ms();
  bool ok = false;
  FILE *f = fopen(ctl->ring_cache, "r");
  if (!f)
    return false;
  if (!fgets(line, sizeof(line), f) || strcmp(line, MAGIC "\n") != 0)
    goto done;
  if (!fgets(line, sizeof(line), f) ||
      sscanf(line, "supernode %" WORD_SCAN "s", sn) != 1 ||
      strcmp(sn, ctl->supernode) != 0)
    goto done;
  if (!fgets(line, sizeof(line), f) ||
      sscanf(line, "fetched %" SCNd64, &fetched) != 1 || fetched > now + 1000)
    goto done;
  if (grow(v))
    goto done;
  while (fgets(line, sizeof(line), f)) {
    struct chord_id id;
    if (v->n == FILE_MAX_MEMBERS ||
        sscanf(line, "%" WORD_SCAN "s %" WORD_SCAN "s", hex, addr) != 2 ||
        chord_id_from_hex(&id, hex) ||
        ringview_learn(v, id.b, sizeof(id.b), addr))
      goto done;
  }
  ok = v->n > 0 && !ferror(f);
  v->changed = false; /* as the file has it */
done:
  fclose(f);
  if (!ok)
    ringview_free(v);
  v->fetched_ms = fetched;
  return ok;
}

int ringview_load(struct chordctl *ctl, const char *what, struct ringview *v)
{
  if (v->loaded)
    return 0;
  if (ctl->node) {
    v->addrs = malloc(sizeof(*v->addrs));
    if (!v->addrs || !(v->addrs[0] = strdup(ctl->node))) {
      free(v->addrs);
      v->addrs = NULL;
      output_error(ctl, "%s: out of memory", what);
      return OUTPUT_EXIT_FAILURE;
    }
    v->n = v->cap = 1;
    v->loaded = true;
    return 0;
  }
  /* An expired list still beats none when the supernode is down: its
   * members route any request on, and replies correct it. */
  struct ringview old = {0};
  bool have_old = ctl->ring_cache && read_file(ctl, &old);
  if (have_old && wall_ms() - old.fetched_ms <= ctl->ring_ttl_ms) {
    *v = old;
    v->loaded = true;
    return 0;
  }
  int rc = fetch(ctl, what, v, have_old);
  if (rc == OUTPUT_EXIT_UNREACHABLE && have_old) {
    fprintf(stderr,
            "chordctl: warning: the supernode at %s cannot be reached; "
            "using the member list of %s from %" PRId64 " s ago\n",
            ctl->supernode, ctl->ring_cache,
            (wall_ms() - old.fetched_ms) / 1000);
    *v = old;
    v->loaded = true;
    return 0;
  }
  ringview_free(&old);
  return rc;
}

int ringview_save(struct chordctl *ctl, const struct ringview *v)
{
  char tmp[4096], hex[CHORD_ID_HEX_LEN + 1];
  FILE *f;
  if (!ctl->ring_cache || !v->ids || !v->changed || v->n == 0)
    return 0;
  if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", ctl->ring_cache,
               (long)getpid()) >= (int)sizeof(tmp))
    goto fail;
  f = fopen(tmp, "w");
  if (!f)
    goto fail;
  fprintf(f, MAGIC "\nsupernode %s\nfetched %" PRId64 "\n", ctl->supernode,
          v->fetched_ms);
  for (size_t i = 0; i < v->n; i++) {
    chord_id_to_hex(&v->ids[i], hex);
    fprintf(f, "%s %s\n", hex, v->addrs[i]);
  }
  if (ferror(f) | (fclose(f) != 0) || rename(tmp, ctl->ring_cache) != 0) {
    unlink(tmp);
    goto fail;
  }
  return 0;
fail:
  fprintf(stderr, "chordctl: warning: cannot write the ring cache %s: %s\n",
          ctl->ring_cache, strerror(errno));
  return -1;
}

/* SPDX-License-Identifier: MIT */
/* Chunked writes and reads: the main thread reads the input, hashes the
 * whole file and hands chunks to the pool's slots in order; workers hash
 * and send (or fetch and check) them; the manifest goes last. */
#include "client/chunked.h"
#include "client/chunked_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "chord/v1/supernode.pb-c.h"
#include "client/cluster.h"
#include "common/escape.h"
#include "client/fileio.h"
#include "client/output.h"
#include "client/pool.h"
#include "client/progress.h"
#include "common/addr.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/manifest.h"
#include "common/name.h"

#define NODE_WRITE "/chord.v1.Node/Write"
/* Chunks a known-size file is cut into at most: beyond, chunks grow. */
#define CHUNKED_TARGET_CHUNKS 65536
#define HASH_LEN CHUNKED_HASH_LEN

void chunked_sha256(const uint8_t *data, size_t len, uint8_t out[HASH_LEN])
{
  unsigned int n = 0;
  EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

int chunked_entry_nodes(struct xfer *x, const char *what)
{
  struct ringview *v = &x->ctl->view;
  int rc = ringview_load(x->ctl, what, v);
  if (rc)
    return rc;
  /* A copy: the view may learn members while the pool holds the list. */
  x->nodes = malloc(v->n * sizeof(*x->nodes));
  if (!x->nodes) {
    output_error(x->ctl, "%s: out of memory", what);
    return OUTPUT_EXIT_FAILURE;
  }
  for (size_t i = 0; i < v->n; i++)
    x->nodes[i] = v->addrs[i];
  x->nnodes = v->n;
  return 0;
}

size_t chunked_first_node(const struct xfer *x, const char *name, size_t len)
{
  return ringview_owner(&x->ctl->view, name, len);
}

void chunked_xfer_free(struct xfer *x)
{
  free(x->hashes);
  free(x->nodes);
}

int chunked_slot_error(struct chordctl *ctl, const char *what,
                       const struct pool_slot *s)
{
  if (s->err[0]) {
    output_error(ctl, "%s: %s", what, s->err);
    return s->rc;
  }
  return output_rpc_error(ctl, what, "node", s->addr, &s->st);
}

/* Fills buf with up to len bytes of fd: *got < len only at its end. */
static int read_full(int fd, uint8_t *buf, size_t len, size_t *got)
{
  *got = 0;
  while (*got < len) {
    ssize_t r = read(fd, buf + *got, len - *got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    *got += (size_t)r;
  }
  return 0;
}

/* ---- write ----------------------------------------------------------------
 */

static int write_chunk(struct pool *p, struct pool_worker *w,
                       struct pool_slot *s)
{
  struct xfer *x = p->ud;
  Chord__V1__File f = CHORD__V1__FILE__INIT;
  Chord__V1__WriteRequest req = CHORD__V1__WRITE_REQUEST__INIT;
  struct rpc_result res;
  uint8_t h[HASH_LEN];
  char *cname = malloc(NAME_MAX_STORED + 1);
  if (!cname) {
    snprintf(s->err, sizeof(s->err), "out of memory");
    return OUTPUT_EXIT_FAILURE;
  }
  chunked_sha256(s->buf, s->len, h);
  pthread_mutex_lock(&p->mu);
  memcpy(x->hashes + s->index * HASH_LEN, h, HASH_LEN);
  pthread_mutex_unlock(&p->mu);
  s->first = chunked_first_node(
      x, cname, name_chunk_make(cname, h, x->name, strlen(x->name)));
  f.name = cname;
  f.content.data = s->buf;
  f.content.len = s->len;
  req.file = &f;
  grpc_status_code code =
      pool_call(p, w, s, NODE_WRITE, &req.base,
                &chord__v1__write_response__descriptor, &res);
  rpc_result_clear(&res);
  free(cname);
  s->err[0] = '\0';
  return code == GRPC_STATUS_OK ? 0 : OUTPUT_EXIT_FAILURE;
}

/* Waits for a free slot (handling finished ones); NULL after a failure,
 * whose exit code goes to *rc. Called with p->mu held. */
static struct pool_slot *free_slot(struct pool *p, const char *what, int *rc)
{
  struct xfer *x = p->ud;
  for (;;) {
    for (unsigned i = 0; i < p->n; i++) {
      struct pool_slot *s = &p->slots[i];
      if (s->state == POOL_DONE && s->rc) {
        *rc = chunked_slot_error(x->ctl, what, s);
        return NULL;
      }
      if (s->state == POOL_DONE)
        s->state = POOL_FREE;
    }
    for (unsigned i = 0; i < p->n; i++)
      if (p->slots[i].state == POOL_FREE)
        return &p->slots[i];
    pthread_cond_wait(&p->cv, &p->mu);
  }
}

/* Waits until every slot is done; the first failure's exit code, or 0.
 * With failed (a failure already reported) it reports nothing more:
 * chordctl says one sentence. */
static int drain(struct pool *p, const char *what, bool failed)
{
  struct xfer *x = p->ud;
  int rc = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    bool busy = false;
    for (unsigned i = 0; i < p->n; i++) {
      struct pool_slot *s = &p->slots[i];
      if (s->state == POOL_READY || s->state == POOL_BUSY)
        busy = true;
      else if (s->state == POOL_DONE && s->rc && !rc && !failed)
        rc = chunked_slot_error(x->ctl, what, s);
    }
    if (!busy)
      break;
    pthread_cond_wait(&p->cv, &p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

/* Writes the manifest of the chunks sent: the commit point. */
static int write_manifest(struct xfer *x, const char *what, uint64_t size,
                          uint64_t chunk, const uint8_t whole[HASH_LEN],
                          uint64_t started_us, double secs)
{
  Chord__V1__Manifest m = CHORD__V1__MANIFEST__INIT;
  Chord__V1__File f = CHORD__V1__FILE__INIT;
  Chord__V1__WriteRequest req = CHORD__V1__WRITE_REQUEST__INIT;
  struct rpc_result res;
  ProtobufCBinaryData *ch = calloc(x->nhashes, sizeof(*ch));
  uint8_t *buf = NULL;
  int rc = OUTPUT_EXIT_FAILURE;
  if (!ch)
    goto nomem;
  for (uint64_t i = 0; i < x->nhashes; i++) {
    ch[i].data = x->hashes + i * HASH_LEN;
    ch[i].len = HASH_LEN;
  }
  m.size = size;
  m.chunk_size = chunk;
  m.sha256.data = (uint8_t *)whole;
  m.sha256.len = HASH_LEN;
  m.n_chunks = x->nhashes;
  m.chunks = ch;
  m.started_us = started_us;
  buf = malloc(protobuf_c_message_get_packed_size(&m.base));
  if (!buf)
    goto nomem;
  f.name = (char *)x->name;
  f.content.data = buf;
  f.content.len = protobuf_c_message_pack(&m.base, buf);
  f.manifest = true;
  req.file = &f;
  rc = cluster_node_call(x->ctl, what, x->name, NODE_WRITE, &req.base,
                         &chord__v1__write_response__descriptor, &res);
  if (rc == 0) {
    struct output_xfer ox = {size, x->nhashes, secs};
    cluster_learn_owner(x->ctl,
                        ((const Chord__V1__WriteResponse *)res.resp)->owner);
    output_write(x->ctl, x->name, size,
                 (const Chord__V1__WriteResponse *)res.resp, &ox);
  }
  rpc_result_clear(&res);
  goto cleanup;
nomem:
  output_error(x->ctl, "%s: out of memory", what);
cleanup:
  free(buf);
  free(ch);
  return rc;
}

/* One Write of data (at most one chunk): the file is not chunked. */
static int write_plain(struct chordctl *ctl, const char *what, const char *name,
                       const uint8_t *data, size_t len, uint64_t t0)
{
  Chord__V1__File f = CHORD__V1__FILE__INIT;
  Chord__V1__WriteRequest req = CHORD__V1__WRITE_REQUEST__INIT;
  struct rpc_result res;
  f.name = (char *)name;
  f.content.data = (uint8_t *)data;
  f.content.len = len;
  req.file = &f;
  int rc = cluster_node_call(ctl, what, name, NODE_WRITE, &req.base,
                             &chord__v1__write_response__descriptor, &res);
  if (rc == 0) {
    cluster_learn_owner(ctl,
                        ((const Chord__V1__WriteResponse *)res.resp)->owner);
    struct output_xfer ox = {len, 0, (double)(progress_now_ms() - t0) / 1000.0};
    output_write(ctl, name, len, (const Chord__V1__WriteResponse *)res.resp,
                 &ox);
  }
  rpc_result_clear(&res);
  return rc;
}

/* Sends the chunks: cur (curn bytes) is chunk 0, nxt (nxtn) chunk 1; both
 * buffers hold chunk bytes and change hands with the slots'. */
static int send_chunks(struct xfer *x, struct pool *p, int fd, const char *what,
                       uint8_t **cur, size_t curn, uint8_t **nxt, size_t nxtn,
                       uint64_t chunk, uint64_t known, uint64_t *size,
                       uint8_t whole[HASH_LEN])
{
  struct chordctl *ctl = x->ctl;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  struct progress pr;
  uint64_t total = 0;
  int rc = 0;
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    output_error(ctl, "%s: cannot set up SHA-256", what);
    EVP_MD_CTX_free(md);
    return OUTPUT_EXIT_FAILURE;
  }
  progress_begin(&pr, ctl, "writing", known);
  for (uint64_t idx = 0; curn; idx++) {
    if (total + curn > ctl->max_size) {
      output_error(ctl, "%s: the input is over the %" PRIu64 "-byte limit",
                   what, ctl->max_size);
      rc = OUTPUT_EXIT_REFUSED;
      break;
    }
    if (idx >= MANIFEST_MAX_CHUNKS) {
      output_error(ctl,
                   "%s: over %" PRIu64 " chunks: use a larger "
                   "--chunk-size",
                   what, MANIFEST_MAX_CHUNKS);
      rc = OUTPUT_EXIT_REFUSED;
      break;
    }
    EVP_DigestUpdate(md, *cur, curn);
    total += curn;
    pthread_mutex_lock(&p->mu);
    struct pool_slot *s = free_slot(p, what, &rc);
    if (s && idx >= x->cap) {
      uint64_t ncap = x->cap ? 2 * x->cap : 1024;
      uint8_t *nh = realloc(x->hashes, ncap * HASH_LEN);
      if (nh) {
        x->hashes = nh;
        x->cap = ncap;
      } else {
        output_error(ctl, "%s: out of memory", what);
        rc = OUTPUT_EXIT_FAILURE;
        s = NULL;
      }
    }
    if (s) {
      uint8_t *b = s->buf;
      s->buf = *cur;
      s->len = curn;
      s->index = idx;
      s->state = POOL_READY;
      x->nhashes = idx + 1;
      *cur = b;
      pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (!s)
      break;
    progress_update(&pr, total);
    uint8_t *t = *cur; /* the free buffer takes the next chunk */
    *cur = *nxt;
    curn = nxtn;
    *nxt = t;
    if (curn == chunk && read_full(fd, *nxt, chunk, &nxtn)) {
      output_error(ctl, "%s: cannot read the input: %s", what, strerror(errno));
      rc = OUTPUT_EXIT_FAILURE;
      break;
    }
    if (curn < chunk)
      nxtn = 0; /* the last chunk was short: the input ended */
  }
  int drc = drain(p, what, rc != 0);
  if (!rc)
    rc = drc;
  progress_end(&pr);
  unsigned int hl = 0;
  EVP_DigestFinal_ex(md, whole, &hl);
  EVP_MD_CTX_free(md);
  *size = total;
  return rc;
}

int chunked_write(struct chordctl *ctl, const char *what, const char *name,
                  const char *path)
{
  bool is_stdin = strcmp(path, "-") == 0;
  struct xfer x = {.ctl = ctl, .name = name};
  struct pool p = {0};
  uint64_t chunk = ctl->chunk_size, known = 0, size = 0;
  uint64_t t0 = progress_now_ms(), started;
  uint8_t *cur = NULL, *nxt = NULL, whole[HASH_LEN];
  size_t curn = 0, nxtn = 0;
  struct timespec ts;
  struct stat st;
  char q[OUTPUT_WHAT_MAX];
  int fd, rc = OUTPUT_EXIT_FAILURE;

  clock_gettime(CLOCK_REALTIME, &ts);
  started = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  if (is_stdin)
    snprintf(q, sizeof(q), "standard input");
  else
    escape_quote(q, sizeof(q), path, strlen(path));
  fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    output_error(ctl, "%s: cannot open %s: %s", what, q, strerror(errno));
    return OUTPUT_EXIT_FAILURE;
  }
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t at = is_stdin ? lseek(fd, 0, SEEK_CUR) : 0;
    known = at >= 0 && st.st_size > at ? (uint64_t)(st.st_size - at) : 0;
    if (known > ctl->max_size) {
      output_error(ctl,
                   "%s: the file is %" PRIu64 " bytes, over the %" PRIu64
                   "-byte limit",
                   what, known, ctl->max_size);
      rc = OUTPUT_EXIT_REFUSED;
      goto cleanup;
    }
    /* Keep the manifest small: bigger chunks for a huge file. */
    while (manifest_chunks_for(known, chunk) > CHUNKED_TARGET_CHUNKS &&
           chunk < CHORDCTL_MAX_CHUNK)
      chunk *= 2;
  }
  cur = malloc(chunk);
  nxt = malloc(chunk);
  if (!cur || !nxt) {
    output_error(ctl, "%s: out of memory", what);
    goto cleanup;
  }
  if (read_full(fd, cur, chunk, &curn) ||
      (curn == chunk && read_full(fd, nxt, chunk, &nxtn))) {
    output_error(ctl, "%s: cannot read %s: %s", what, q, strerror(errno));
    goto cleanup;
  }
  if (nxtn == 0) { /* one chunk or less: a plain file */
    if (curn > ctl->max_size) {
      output_error(ctl, "%s: the input is over the %" PRIu64 "-byte limit",
                   what, ctl->max_size);
      rc = OUTPUT_EXIT_REFUSED;
      goto cleanup;
    }
    rc = write_plain(ctl, what, name, cur, curn, t0);
    goto cleanup;
  }
  rc = chunked_entry_nodes(&x, what);
  if (rc)
    goto cleanup;
  p.nodes = x.nodes;
  p.nnodes = x.nnodes;
  rc = pool_start(&p, ctl, ctl->window, chunk, write_chunk, &x);
  if (rc)
    goto cleanup;
  rc = send_chunks(&x, &p, fd, what, &cur, curn, &nxt, nxtn, chunk, known,
                   &size, whole);
  pool_stop(&p);
  if (rc == 0)
    rc = write_manifest(&x, what, size, chunk, whole, started,
                        (double)(progress_now_ms() - t0) / 1000.0);

cleanup:
  free(cur);
  free(nxt);
  chunked_xfer_free(&x);
  if (!is_stdin)
    close(fd);
  return rc;
}

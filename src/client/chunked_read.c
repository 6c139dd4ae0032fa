/* SPDX-License-Identifier: MIT */
/* Chunked reads: the manifest checked, a window of chunks fetched by the
 * pool's workers and each checked against its SHA-256, written in order
 * to standard output or a temporary file renamed into place once the
 * whole file's SHA-256 matches. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "client/chunked.h"
#include "client/chunked_internal.h"
#include "client/fileio.h"
#include "client/output.h"
#include "client/progress.h"
#include "common/codec.h"
#include "common/err.h"
#include "common/manifest.h"

#define NODE_READ "/chord.v1.Node/Read"
#define HASH_LEN CHUNKED_HASH_LEN

static int read_chunk(struct pool *p, struct pool_worker *w,
                      struct pool_slot *s)
{
  struct xfer *x = p->ud;
  const Chord__V1__Manifest *m = x->m;
  Chord__V1__ReadRequest req = CHORD__V1__READ_REQUEST__INIT;
  struct rpc_result res;
  uint64_t want = manifest_chunk_len(m, s->index);
  uint8_t h[HASH_LEN];
  int rc = OUTPUT_EXIT_FAILURE;
  char *cname = malloc(NAME_MAX_STORED + 1);
  s->err[0] = '\0';
  if (!cname) {
    snprintf(s->err, sizeof(s->err), "out of memory");
    return rc;
  }
  s->first = chunked_first_node(x, cname,
                                name_chunk_make(cname, m->chunks[s->index].data,
                                                x->name, strlen(x->name)));
  req.name = cname;
  grpc_status_code code =
      pool_call(p, w, s, NODE_READ, &req.base,
                &chord__v1__read_response__descriptor, &res);
  const Chord__V1__ReadResponse *r = (const Chord__V1__ReadResponse *)res.resp;
  if (code == GRPC_STATUS_NOT_FOUND) {
    snprintf(s->err, sizeof(s->err),
             "chunk %" PRIu64 " of %zu is missing (no file %.24s...): the "
             "file was replaced or deleted longer than the chunk grace "
             "period ago, or its manifest names chunks never written",
             s->index + 1, m->n_chunks, cname);
  } else if (code != GRPC_STATUS_OK) {
    rc = OUTPUT_EXIT_FAILURE; /* reported from s->st */
  } else if (!r->file || r->file->content.len != want || want > s->cap) {
    snprintf(s->err, sizeof(s->err),
             "chunk %" PRIu64 " of %zu has %zu bytes, not %" PRIu64,
             s->index + 1, m->n_chunks,
             r->file ? r->file->content.len : (size_t)0, want);
  } else {
    chunked_sha256(r->file->content.data, want, h);
    if (memcmp(h, m->chunks[s->index].data, HASH_LEN) != 0) {
      snprintf(s->err, sizeof(s->err),
               "chunk %" PRIu64 " of %zu does not match its SHA-256: the "
               "stored copy is corrupt",
               s->index + 1, m->n_chunks);
    } else {
      memcpy(s->buf, r->file->content.data, want);
      s->len = want;
      rc = 0;
    }
  }
  rpc_result_clear(&res);
  free(cname);
  return rc;
}

/* Hands the next chunks to free slots, then waits for chunk *next_out; it
 * returns with that slot, or NULL after a failure (*rc). p->mu held. */
static struct pool_slot *next_done(struct pool *p, const char *what,
                                   uint64_t *next_in, uint64_t next_out,
                                   uint64_t n, int *rc)
{
  struct xfer *x = p->ud;
  for (;;) {
    for (unsigned i = 0; i < p->n && *next_in < n; i++)
      if (p->slots[i].state == POOL_FREE) {
        p->slots[i].index = (*next_in)++;
        p->slots[i].state = POOL_READY;
        pthread_cond_broadcast(&p->cv);
      }
    for (unsigned i = 0; i < p->n; i++) {
      struct pool_slot *s = &p->slots[i];
      if (s->state != POOL_DONE || s->index != next_out)
        continue;
      if (s->rc) {
        *rc = chunked_slot_error(x->ctl, what, s);
        return NULL;
      }
      return s;
    }
    pthread_cond_wait(&p->cv, &p->mu);
  }
}

/* Moves every chunk to out in order, hashing the whole. */
static int fetch_chunks(struct xfer *x, struct pool *p, struct fileio_out *out,
                        const char *what, uint8_t whole[HASH_LEN])
{
  const Chord__V1__Manifest *m = x->m;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  uint64_t next_in = 0, done = 0;
  struct progress pr;
  int rc = 0;
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    output_error(x->ctl, "%s: cannot set up SHA-256", what);
    EVP_MD_CTX_free(md);
    return OUTPUT_EXIT_FAILURE;
  }
  progress_begin(&pr, x->ctl, "reading", m->size);
  for (uint64_t i = 0; i < m->n_chunks && !rc; i++) {
    pthread_mutex_lock(&p->mu);
    struct pool_slot *s = next_done(p, what, &next_in, i, m->n_chunks, &rc);
    pthread_mutex_unlock(&p->mu);
    if (!s)
      break;
    EVP_DigestUpdate(md, s->buf, s->len);
    rc = fileio_out_write(x->ctl, what, out, s->buf, s->len);
    done += s->len;
    pthread_mutex_lock(&p->mu);
    s->state = POOL_FREE;
    pthread_mutex_unlock(&p->mu);
    progress_update(&pr, done);
  }
  progress_end(&pr);
  unsigned int hl = 0;
  EVP_DigestFinal_ex(md, whole, &hl);
  EVP_MD_CTX_free(md);
  return rc;
}

int chunked_read(struct chordctl *ctl, const char *what, const char *name,
                 const Chord__V1__ReadResponse *r, const char *output)
{
  struct manifest_limits lim = {.max_object = ctl->max_size,
                                .max_chunk = CHORDCTL_MAX_CHUNK};
  struct xfer x = {.ctl = ctl, .name = name};
  Chord__V1__Manifest *m = NULL;
  struct fileio_out out = {.fd = -1};
  struct pool p = {0};
  uint64_t t0 = progress_now_ms();
  uint8_t whole[HASH_LEN];
  const char *why = "it does not decode";
  int rc;

  rc = codec_decode_bytes(r->file->content.data, r->file->content.len,
                          &chord__v1__manifest__descriptor,
                          (ProtobufCMessage **)&m);
  if (rc == 0)
    rc = manifest_check(m, &lim, &why);
  if (rc == CHORD_ETOOBIG) {
    output_error(ctl,
                 "%s: %s (the file is %" PRIu64 " bytes; --max-size is %" PRIu64
                 ")",
                 what, why, m->size, ctl->max_size);
    rc = OUTPUT_EXIT_REFUSED;
    goto cleanup;
  }
  if (rc) {
    output_error(ctl, "%s: the file's manifest is malformed: %s", what, why);
    rc = OUTPUT_EXIT_FAILURE;
    goto cleanup;
  }
  x.m = m;
  rc = chunked_entry_nodes(&x, what);
  if (!rc)
    rc = fileio_out_open(ctl, what, output, &out);
  if (rc)
    goto cleanup;
  p.nodes = x.nodes;
  p.nnodes = x.nnodes;
  rc = pool_start(&p, ctl, ctl->window, m->chunk_size, read_chunk, &x);
  if (rc)
    goto cleanup;
  rc = fetch_chunks(&x, &p, &out, what, whole);
  pool_stop(&p);
  if (rc == 0 && memcmp(whole, m->sha256.data, HASH_LEN) != 0) {
    output_error(ctl, "%s: the file's SHA-256 does not match its manifest",
                 what);
    rc = OUTPUT_EXIT_FAILURE;
  }
  if (rc == 0)
    rc = fileio_out_commit(ctl, what, &out);
  if (rc == 0) {
    struct output_xfer ox = {m->size, m->n_chunks,
                             (double)(progress_now_ms() - t0) / 1000.0};
    output_read(ctl, name, r, out.is_stdout ? NULL : output, &ox);
  }

cleanup:
  fileio_out_abort(&out);
  codec_free((ProtobufCMessage *)m);
  chunked_xfer_free(&x);
  return rc;
}
